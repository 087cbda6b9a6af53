import { createRequire } from 'node:module';

/**
 * The family every chart's text is set in. Its file ships with the project (an npm package of
 * Google's Noto Sans), so the labels look the same everywhere: the slim container image has no
 * fonts at all, and resvg draws no text without one.
 */
export const CHART_FONT_FAMILY = 'Noto Sans';

/** The font file, found where npm put the package. */
export function chartFontFile(): string {
  return createRequire(import.meta.url).resolve(
    '@expo-google-fonts/noto-sans/400Regular/NotoSans_400Regular.ttf',
  );
}

/**
 * A chart's SVG as a PNG for Discord (which shows no SVG), drawn with the shipped font and no
 * system font: the same picture on every machine. resvg is loaded with the first chart: the idle
 * bot never draws one.
 */
export async function chartPng(svg: string): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  return new Resvg(svg, {
    font: {
      fontFiles: [chartFontFile()],
      loadSystemFonts: false,
      defaultFontFamily: CHART_FONT_FAMILY,
      sansSerifFamily: CHART_FONT_FAMILY,
    },
  })
    .render()
    .asPng();
}
