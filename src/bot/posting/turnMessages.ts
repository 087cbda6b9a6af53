import { AttachmentBuilder } from 'discord.js';
import { DEFAULT_MAX_POSTS, planPosts } from './splitMessage.ts';

/**
 * One turn's messages: at most {@link DEFAULT_MAX_POSTS}, the rest of a very long turn attached
 * as a file to the last, so one turn never floods a thread (or the channel's shared budget).
 */
export function turnMessages(
  content: string,
  prefix = '',
): Array<{ content: string; files?: AttachmentBuilder[] }> {
  const plan = planPosts(`${prefix}${content}`, { maxParts: DEFAULT_MAX_POSTS });
  const messages: Array<{ content: string; files?: AttachmentBuilder[] }> = plan.parts.map((part) => ({
    content: part,
  }));
  if (plan.overflow !== undefined) {
    messages.push({
      content: `-# …the rest of this turn (${plan.overflow.length.toLocaleString('en')} characters) is attached.`,
      files: [new AttachmentBuilder(Buffer.from(plan.overflow, 'utf8'), { name: 'the-rest.md' })],
    });
  }
  return messages;
}
