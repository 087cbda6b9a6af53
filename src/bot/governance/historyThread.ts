import {
  type ButtonInteraction,
  DiscordAPIError,
  RESTJSONErrorCodes,
  ThreadAutoArchiveDuration,
  type ThreadChannel,
} from 'discord.js';
import type { Amendments } from '../../services/governance/amendments.ts';
import type { HistoryEntry, Proposal } from '../../services/governance/proposalStore.ts';
import type { Memory } from '../../services/memory/memory.ts';
import type { SingleFlight } from '../../shared/concurrency.ts';
import { truncate } from '../../shared/text.ts';
import type { ChannelAccess } from '../access/channelAccess.ts';
import { NO_MENTIONS } from '../posting/mentions.ts';
import { historyMessages } from './proposalCard.ts';

/** A proposal's legislative history, in a thread on its card. */

export interface HistoryThreadDeps {
  readonly amendments: Pick<Amendments, 'get' | 'placed'>;
  /** To show evidence only from channels the proposal's readers can read (now, as when it was drafted). */
  readonly access: Pick<ChannelAccess, 'sharedWith'>;
  readonly memory: Pick<Memory, 'get'>;
  /** One opening per proposal, however many architects press at the same time. */
  readonly opening: SingleFlight<ThreadChannel>;
}

/**
 * The proposal's history thread, created once however many architects press at the same time:
 * reused (and unarchived) when it exists, its messages posted until they all are.
 */
export function historyThread(
  deps: HistoryThreadDeps,
  interaction: ButtonInteraction,
  id: string,
): Promise<ThreadChannel> {
  return deps.opening.do(id, async () => {
    let proposal = await deps.amendments.get(id);
    if (!proposal) throw new Error(`no proposal ${id}`);
    let thread = await existingThread(interaction, proposal);
    if (!thread) {
      thread = await startThread(interaction, proposal);
      proposal = await deps.amendments.placed(id, { threadId: thread.id });
    }
    if (!proposal.historyPosted) {
      await postHistory(deps, thread, proposal);
      await deps.amendments.placed(id, { historyPosted: true });
    }
    return thread;
  });
}

/** The thread stored for the proposal, unarchived, if it still exists. */
async function existingThread(
  interaction: ButtonInteraction,
  proposal: Proposal,
): Promise<ThreadChannel | undefined> {
  if (!proposal.threadId) return undefined;
  const existing = await interaction.client.channels.fetch(proposal.threadId).catch(() => null);
  if (!existing?.isThread()) return undefined;
  if (existing.archived) await existing.setArchived(false, 'history reopened');
  return existing;
}

async function startThread(interaction: ButtonInteraction, proposal: Proposal): Promise<ThreadChannel> {
  try {
    return await interaction.message.startThread({
      name: truncate(`History of proposal ${proposal.id}: ${proposal.title}`, 100),
      autoArchiveDuration: ThreadAutoArchiveDuration.OneDay,
    });
  } catch (error) {
    // 160004: the message already has a thread (made before the id was stored).
    if (
      !(error instanceof DiscordAPIError) ||
      error.code !== RESTJSONErrorCodes.ThreadAlreadyCreatedForMessage
    ) {
      throw error;
    }
    const existing = (await interaction.message.fetch()).thread;
    if (!existing) throw error;
    return existing;
  }
}

/**
 * Whether a piece of evidence may be posted here: its words were kept because its readers could
 * read it when the proposal was drafted (absent in proposals drafted before that was kept), and
 * they still can (its dialogue is still remembered, in a channel they all read). Safe both ways:
 * a channel closed since hides it, one opened since does not show what was never kept.
 */
export async function evidenceShown(
  deps: Pick<HistoryThreadDeps, 'access' | 'memory'>,
  placeId: string,
  history: readonly HistoryEntry[],
): Promise<(entry: HistoryEntry) => boolean> {
  // Each dialogue's channel read first, so the predicate the card calls can answer at once.
  const channels = new Map<string, string | undefined>();
  for (const entry of history)
    if (entry.recordId !== undefined && !channels.has(entry.recordId))
      channels.set(entry.recordId, (await deps.memory.get(entry.recordId))?.channelId);
  let readable: Set<string> | undefined;
  return (entry) => {
    if (entry.shown === false || entry.forgotten || entry.recordId === undefined) return false;
    const channelId = channels.get(entry.recordId);
    readable ??= new Set(deps.access.sharedWith(placeId));
    return channelId !== undefined && readable.has(channelId);
  };
}

async function postHistory(
  deps: Pick<HistoryThreadDeps, 'access' | 'memory'>,
  thread: ThreadChannel,
  proposal: Proposal,
): Promise<void> {
  const shown = await evidenceShown(
    deps,
    proposal.channelId ?? thread.parentId ?? thread.id,
    proposal.history.filter((entry) => entry.kind === 'evidence'),
  );
  for (const part of historyMessages(proposal, { shown }))
    await thread.send({ content: part, allowedMentions: NO_MENTIONS });
}
