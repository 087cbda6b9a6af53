import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { CHART_FONT_FAMILY, chartFontFile } from '../../../../src/bot/cards/chartPng.ts';
import { dissonanceChartPng, dissonanceSvg } from '../../../../src/bot/cards/dissonanceChart.ts';
import { lossChartPng, lossSvg } from '../../../../src/bot/finetune/lossChart.ts';

// The charts must carry their labels on a machine without a single font (the slim container):
// they are drawn with the font the project ships, system fonts off. Each test compares the chart
// with the same chart whose text was taken out: the difference is the labels, found where they go.

/** The RGBA pixels of a PNG, read back through resvg (an <image> the size of the PNG). */
function pixels(png: Buffer, width: number, height: number): Uint8Array {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><image width="${width}" height="${height}" href="data:image/png;base64,${png.toString('base64')}"/></svg>`;
  return new Resvg(svg, { font: { loadSystemFonts: false } }).render().pixels;
}

/** The SVG drawn with resvg as the bot draws it, but with the given font files only. */
function drawn(svg: string, fontFiles: string[]): Uint8Array {
  return new Resvg(svg, {
    font: { fontFiles, loadSystemFonts: false, defaultFontFamily: CHART_FONT_FAMILY },
  }).render().pixels;
}

const withoutText = (svg: string) => svg.replace(/<text\b[^>]*>[^<]*<\/text>/g, '');

/** Pixels inside the box that differ between two pictures of `width` pixels a row. */
function changedIn(
  a: Uint8Array,
  b: Uint8Array,
  width: number,
  box: { x: number; y: number; w: number; h: number },
): number {
  let changed = 0;
  for (let y = box.y; y < box.y + box.h; y += 1) {
    for (let x = box.x; x < box.x + box.w; x += 1) {
      const i = (y * width + x) * 4;
      if (Math.abs((a[i] ?? 0) - (b[i] ?? 0)) + Math.abs((a[i + 1] ?? 0) - (b[i + 1] ?? 0)) > 60)
        changed += 1;
    }
  }
  return changed;
}

describe('the charts, on a machine without fonts', () => {
  it('/status’s dissonance chart has its title and axis labels', async () => {
    const points = [0.9, 0.4, 0.2, 0.85, 0.1].map((dissonance, i) => ({
      at: Date.UTC(2026, 0, 1 + i),
      dissonance,
    }));
    const svg = dissonanceSvg(points, 0.8);
    const png = await dissonanceChartPng(points, 0.8);
    expect(png?.subarray(1, 4).toString()).toBe('PNG');
    const chart = pixels(png ?? Buffer.alloc(0), 800, 320);
    const bare = drawn(withoutText(svg), [chartFontFile()]);

    // The title, top left ("Final dissonance of the last 5 dialogues", 15 px).
    expect(changedIn(chart, bare, 800, { x: 52, y: 8, w: 300, h: 22 })).toBeGreaterThan(300);
    // The axis labels left of the plot (0.00 … 1.00) and the dates under it.
    expect(changedIn(chart, bare, 800, { x: 8, y: 36, w: 40, h: 240 })).toBeGreaterThan(100);
    expect(changedIn(chart, bare, 800, { x: 52, y: 290, w: 60, h: 18 })).toBeGreaterThan(50);
    // What the bot drew before: without a font resvg draws no text at all, and this test sees it.
    expect(changedIn(drawn(svg, []), bare, 800, { x: 0, y: 0, w: 800, h: 320 })).toBe(0);
  });

  it('the fine-tune’s loss curve has its title and step labels', async () => {
    const points = [
      [1, 2.1],
      [50, 1.4],
      [100, 0.9],
    ] as const;
    const title = 'ROBIN · ft-1 · training loss';
    const png = await lossChartPng(points, title);
    const chart = pixels(png ?? Buffer.alloc(0), 640, 260);
    const bare = drawn(withoutText(lossSvg(points, title)), [chartFontFile()]);

    expect(changedIn(chart, bare, 640, { x: 56, y: 8, w: 200, h: 20 })).toBeGreaterThan(200);
    // "step 1" under the plot, on the left.
    expect(changedIn(chart, bare, 640, { x: 56, y: 236, w: 50, h: 18 })).toBeGreaterThan(40);
  });
});
