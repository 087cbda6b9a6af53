import { AttachmentBuilder, EmbedBuilder, TimestampStyles, time, userMention } from 'discord.js';
import type { ToolManifest } from '../../services/tools/toolRegistry.ts';
import { truncate } from '../../shared/text.ts';

/** Discord's embed limits (DISCORD.md). */
const FIELD_MAX = 1024;
/** Well under 4096: title, description and four fields must stay within the 6000 of one embed. */
const DESCRIPTION_MAX = 1200;

const compact = (value: unknown, max: number) => truncate(JSON.stringify(value) ?? 'undefined', max);

/** A code block that always closes, however much of `text` fits. */
const codeBlock = (text: string, max: number, language = '') => {
  const room = max - language.length - 8;
  return `\`\`\`${language}\n${truncate(text.replace(/```/g, "'''"), room)}\n\`\`\``;
};

/** Who asked: a persona id as is, a Discord user id as a mention. */
const requester = (requestedBy: string) =>
  /^\d{15,21}$/.test(requestedBy) ? userMention(requestedBy) : requestedBy;

/** The test results, one line each, held-out case marked. */
export function testLines(manifest: ToolManifest, max = FIELD_MAX): string {
  const passed = manifest.tests.filter((t) => t.passed).length;
  const lines = [`**${passed}/${manifest.tests.length} passed** (1 held out)`];
  for (const test of manifest.tests) {
    const mark = test.passed ? '✅' : '❌';
    const got = test.passed ? '' : ` (got ${compact(test.actual ?? test.error, 60)})`;
    lines.push(
      `${mark} \`run(${compact(test.input, 80)}) → ${compact(test.expected, 60)}\`${got}${test.heldOut ? ' · held out' : ''}`,
    );
  }
  let text = '';
  for (const line of lines) {
    if (text.length + line.length + 1 > max - 2) return `${text}…`;
    text += `${text ? '\n' : ''}${line}`;
  }
  return text;
}

/** The tool's files as attachments: its code, and (for /tools show) its manifest. */
export function toolFiles(manifest: ToolManifest, code: string, withManifest = false): AttachmentBuilder[] {
  const files = [
    new AttachmentBuilder(Buffer.from(code, 'utf8'), { name: `${manifest.name}-v${manifest.version}.js` }),
  ];
  if (withManifest) {
    files.push(
      new AttachmentBuilder(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'), {
        name: `${manifest.name}-v${manifest.version}.manifest.json`,
      }),
    );
  }
  return files;
}

/**
 * The "new tool forged" card: what the tool does, its input, its tests and how it was made,
 * with the code attached for review.
 */
export function toolCard(
  manifest: ToolManifest,
  code: string,
  options: { title?: string; withManifest?: boolean } = {},
) {
  const failed = manifest.attempts.filter((a) => a.round > 0).length;
  const version = manifest.version > 1 ? ` (v${manifest.version})` : '';
  const embed = new EmbedBuilder()
    .setColor(0x2ecc71)
    .setTitle(truncate(options.title ?? `🔧 New tool forged: ${manifest.name}${version}`, 256))
    .setDescription(truncate(manifest.description, DESCRIPTION_MAX))
    .addFields(
      { name: 'Specification', value: truncate(manifest.spec || '—', FIELD_MAX) },
      {
        name: 'Input schema',
        value: codeBlock(JSON.stringify(manifest.inputSchema, null, 1), FIELD_MAX, 'json'),
      },
      { name: 'Tests (run in the sandbox)', value: testLines(manifest) },
      {
        name: 'Made',
        value: truncate(
          `${manifest.rounds} round${manifest.rounds === 1 ? '' : 's'}${failed ? ` (${failed} failed, fed back)` : ''} · model \`${manifest.model}\` · codex v${manifest.codexVersion} · asked by ${requester(manifest.requestedBy)} · ${time(new Date(manifest.createdAt), TimestampStyles.ShortDateTime)}`,
          FIELD_MAX,
        ),
      },
    )
    .setFooter({
      text: `${manifest.name}/v${manifest.version} · ${code.length} characters of code attached`,
    });
  return { embeds: [embed], files: toolFiles(manifest, code, options.withManifest) };
}
