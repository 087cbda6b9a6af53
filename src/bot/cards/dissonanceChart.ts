import { CHART_FONT_FAMILY, chartPng } from './chartPng.ts';

/** One finished dialogue on the chart. */
export interface DissonancePoint {
  at: number;
  dissonance: number;
}

const WIDTH = 800;
const HEIGHT = 320;
const MARGIN = { top: 40, right: 24, bottom: 44, left: 52 };

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A moving average over `window` points, for the trend line. */
export function movingAverage(values: readonly number[], window: number): number[] {
  return values.map((_, i) => {
    const slice = values.slice(Math.max(0, i - window + 1), i + 1);
    return slice.reduce((sum, v) => sum + v, 0) / slice.length;
  });
}

/** The chart as SVG: each dialogue's final dissonance, its moving average, and the high line. */
export function dissonanceSvg(points: readonly DissonancePoint[], threshold: number): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (i: number) =>
    MARGIN.left + (points.length === 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
  const y = (d: number) => MARGIN.top + (1 - Math.min(1, Math.max(0, d))) * plotH;
  const values = points.map((p) => p.dissonance);
  const line = (series: readonly number[]) =>
    series.map((d, i) => `${x(i).toFixed(1)},${y(d).toFixed(1)}`).join(' ');
  const day = (ms: number) => new Date(ms).toISOString().slice(5, 10);
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (d) =>
        `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(d)}" y2="${y(d)}" stroke="#3a3d44" stroke-width="1"/>` +
        `<text x="${MARGIN.left - 8}" y="${y(d) + 4}" text-anchor="end" font-size="12" fill="#b9bbbe">${d.toFixed(2)}</text>`,
    )
    .join('');
  const dots = values
    .map(
      (d, i) =>
        `<circle cx="${x(i).toFixed(1)}" cy="${y(d).toFixed(1)}" r="3.5" fill="${d > threshold ? '#ed4245' : '#5865f2'}"/>`,
    )
    .join('');
  const first = points[0];
  const last = points.at(-1);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="${CHART_FONT_FAMILY}, sans-serif">
<rect width="100%" height="100%" fill="#2b2d31"/>
<text x="${MARGIN.left}" y="24" font-size="15" fill="#f2f3f5">${xml(`Final dissonance of the last ${points.length} dialogues`)}</text>
${grid}
<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(threshold)}" y2="${y(threshold)}" stroke="#ed4245" stroke-width="1.5" stroke-dasharray="6 4"/>
<text x="${WIDTH - MARGIN.right}" y="${y(threshold) - 6}" text-anchor="end" font-size="12" fill="#ed4245">${xml(`high (${threshold})`)}</text>
<polyline points="${line(values)}" fill="none" stroke="#5865f2" stroke-width="1.5" stroke-opacity="0.6"/>
<polyline points="${line(movingAverage(values, 5))}" fill="none" stroke="#fee75c" stroke-width="2.5"/>
${dots}
${first ? `<text x="${MARGIN.left}" y="${HEIGHT - 16}" font-size="12" fill="#b9bbbe">${day(first.at)}</text>` : ''}
${last ? `<text x="${WIDTH - MARGIN.right}" y="${HEIGHT - 16}" text-anchor="end" font-size="12" fill="#b9bbbe">${day(last.at)}</text>` : ''}
<text x="${WIDTH / 2}" y="${HEIGHT - 16}" text-anchor="middle" font-size="12" fill="#fee75c">moving average of 5</text>
</svg>`;
}

/**
 * The chart as a PNG for Discord (which does not show SVG), or undefined with too few points.
 * The renderer loads with the first chart (`/status`): the idle bot never draws one.
 */
export async function dissonanceChartPng(
  points: readonly DissonancePoint[],
  threshold: number,
): Promise<Buffer | undefined> {
  if (points.length < 2) return undefined;
  return chartPng(dissonanceSvg(points, threshold));
}
