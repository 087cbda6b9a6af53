import type { Attachment } from 'discord.js';

const TEXT_EXTENSIONS =
  /\.(txt|md|markdown|json|csv|tsv|log|ya?ml|toml|xml|html?|css|js|mjs|ts|py|rb|go|rs|java|c|h|cpp|sh|sql)$/i;

export interface ReadAttachments {
  /** `--- name ---` sections to append to the task. */
  text: string;
  /** One line per attachment that was not read, saying why. */
  skipped: string[];
}

function isText(attachment: Attachment): boolean {
  const type = attachment.contentType ?? '';
  return type.startsWith('text/') || /json|xml|yaml|toml/.test(type) || TEXT_EXTENSIONS.test(attachment.name);
}

const kb = (bytes: number) => `${Math.ceil(bytes / 1000)} KB`;

/** Reads the text attachments of a message, up to `maxBytes` in all; says what it skipped. */
export async function readTextAttachments(
  attachments: Iterable<Attachment>,
  maxBytes: number,
  fetcher: typeof fetch = fetch,
): Promise<ReadAttachments> {
  const sections: string[] = [];
  const skipped: string[] = [];
  let budget = maxBytes;
  for (const attachment of attachments) {
    if (!isText(attachment)) {
      skipped.push(`\`${attachment.name}\` is not a text file, so I left it out.`);
      continue;
    }
    if (attachment.size > budget) {
      skipped.push(
        `\`${attachment.name}\` is ${kb(attachment.size)}; I read at most ${kb(maxBytes)} of attachments per message (ATTACHMENT_MAX_BYTES), so I left it out.`,
      );
      continue;
    }
    try {
      const response = await fetcher(attachment.url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const text = await response.text();
      budget -= Buffer.byteLength(text);
      sections.push(`--- ${attachment.name} ---\n${text.trim()}`);
    } catch (error) {
      skipped.push(`I could not download \`${attachment.name}\` (${(error as Error).message}).`);
    }
  }
  return { text: sections.join('\n\n'), skipped };
}
