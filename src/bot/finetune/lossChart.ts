/** The training loss of a fine-tune as a small chart for its log message (PNG: Discord shows no SVG). */
import { CHART_FONT_FAMILY, chartPng } from '../cards/chartPng.ts';

const WIDTH = 640;
const HEIGHT = 260;
const MARGIN = { top: 36, right: 20, bottom: 36, left: 56 };

/** The loss curve as SVG: loss by step, with the first and last values labelled. */
export function lossSvg(points: ReadonlyArray<readonly [number, number]>, title: string): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const steps = points.map(([step]) => step);
  const losses = points.map(([, loss]) => loss);
  const [minStep, maxStep] = [Math.min(...steps), Math.max(...steps)];
  const top = Math.max(...losses) * 1.05;
  const bottom = Math.min(0, Math.min(...losses));
  const x = (step: number) =>
    MARGIN.left + (maxStep === minStep ? plotW / 2 : ((step - minStep) / (maxStep - minStep)) * plotW);
  const y = (loss: number) => MARGIN.top + (1 - (loss - bottom) / (top - bottom || 1)) * plotH;
  const line = points.map(([step, loss]) => `${x(step).toFixed(1)},${y(loss).toFixed(1)}`).join(' ');
  const ticks = [0, 0.5, 1]
    .map((f) => bottom + f * (top - bottom))
    .map(
      (value) =>
        `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(value)}" y2="${y(value)}" stroke="#3a3d44"/>` +
        `<text x="${MARGIN.left - 8}" y="${y(value) + 4}" text-anchor="end" font-size="12" fill="#b9bbbe">${value.toFixed(2)}</text>`,
    )
    .join('');
  const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="${CHART_FONT_FAMILY}, sans-serif">
<rect width="100%" height="100%" fill="#2b2d31"/>
<text x="${MARGIN.left}" y="22" font-size="14" fill="#f2f3f5">${escapeXml(title)}</text>
${ticks}
<polyline points="${line}" fill="none" stroke="#57f287" stroke-width="2.5"/>
<text x="${MARGIN.left}" y="${HEIGHT - 12}" font-size="12" fill="#b9bbbe">step ${minStep}</text>
<text x="${WIDTH - MARGIN.right}" y="${HEIGHT - 12}" text-anchor="end" font-size="12" fill="#b9bbbe">step ${maxStep} · loss ${(losses.at(-1) ?? 0).toFixed(3)}</text>
</svg>`;
}

/** The PNG, or undefined with fewer than two points. resvg is loaded on first use only. */
export async function lossChartPng(
  points: ReadonlyArray<readonly [number, number]>,
  title: string,
): Promise<Buffer | undefined> {
  if (points.length < 2) return undefined;
  return chartPng(lossSvg(points, title));
}
