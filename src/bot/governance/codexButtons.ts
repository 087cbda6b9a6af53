import { type ButtonInteraction, channelMention, MessageFlags, type ThreadChannel } from 'discord.js';
import type { Amendments, Decision } from '../../services/governance/amendments.ts';
import type { Proposal } from '../../services/governance/proposalStore.ts';
import type { Logger } from '../../services/logger.ts';
import type { ArchitectGate } from '../access/architects.ts';
import { NO_MENTIONS } from '../posting/mentions.ts';
import { type CodexAction, proposalMessage, refusalText } from './proposalCard.ts';

/**
 * The `codex:` buttons on a proposal card: open the history, approve, reject. Every press is
 * checked on the server against the stored proposal: the message only carries its id.
 */

export interface CodexButtonDeps {
  readonly amendments: Pick<Amendments, 'inspect' | 'openHistory' | 'approve' | 'reject'>;
  readonly architects: Pick<ArchitectGate, 'check'>;
  readonly log: Logger;
  /** The proposal's history thread, opened (or reused) with its messages posted. */
  readonly historyThread: (interaction: ButtonInteraction, id: string) => Promise<ThreadChannel>;
}

const ACTIONS = new Set<string>(['history', 'approve', 'reject'] satisfies CodexAction[]);

/** A private answer to the presser: a reply, or a follow-up once the press was answered. */
const privately = (interaction: ButtonInteraction, content: string) =>
  interaction.deferred || interaction.replied
    ? interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS })
    : interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });

/** Shows the proposal as it now stands on the card that was pressed. */
async function refreshCard(
  deps: Pick<CodexButtonDeps, 'log'>,
  interaction: ButtonInteraction,
  proposal: Proposal,
) {
  await interaction.message
    .edit(proposalMessage(proposal))
    .catch((error: unknown) =>
      deps.log.warn({ err: error, proposal: proposal.id }, 'could not update the proposal message'),
    );
}

export async function handleCodexButton(
  deps: CodexButtonDeps,
  interaction: ButtonInteraction,
): Promise<void> {
  const [, action = '', id = ''] = interaction.customId.split(':');
  if (!ACTIONS.has(action)) {
    await privately(interaction, 'I do not know that button.');
    return;
  }
  const verdict = await deps.architects.check(interaction);
  if (!verdict.ok) {
    deps.log.info(
      { proposal: id, action, userId: interaction.user.id, code: verdict.code },
      'governance button refused',
    );
    await privately(interaction, `${verdict.reason} The proposal is unchanged.`);
    return;
  }
  if (action === 'history') await openHistoryPressed(deps, interaction, id);
  else await decisionPressed(deps, interaction, action, id);
}

/** Open history: the thread first, then the opening is recorded (Approve is enabled for them). */
async function openHistoryPressed(deps: CodexButtonDeps, interaction: ButtonInteraction, id: string) {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const pending = await deps.amendments.inspect(id);
  if (!pending.ok) {
    if (pending.proposal) await refreshCard(deps, interaction, pending.proposal);
    await interaction.editReply({ content: refusalText(pending), allowedMentions: NO_MENTIONS });
    return;
  }
  const thread = await deps.historyThread(interaction, id);
  // Recorded only once the history is there to read.
  const opened = await deps.amendments.openHistory(id, interaction.user.id);
  if (!opened.ok) {
    await interaction.editReply({ content: refusalText(opened), allowedMentions: NO_MENTIONS });
    return;
  }
  await refreshCard(deps, interaction, opened.proposal);
  deps.log.info({ proposal: id, userId: interaction.user.id, threadId: thread.id }, 'history opened');
  await interaction.editReply({
    content: `📜 The history is in ${channelMention(thread.id)}. Once you have read it, Approve is yours to press.`,
    allowedMentions: NO_MENTIONS,
  });
}

/** Approve or reject: the card shows the outcome, the presser hears it privately. */
async function decisionPressed(
  deps: CodexButtonDeps,
  interaction: ButtonInteraction,
  action: string,
  id: string,
) {
  await interaction.deferUpdate();
  const decision: Decision =
    action === 'approve'
      ? await deps.amendments.approve(id, interaction.user.id)
      : await deps.amendments.reject(id, interaction.user.id);
  if (decision.proposal) await interaction.editReply(proposalMessage(decision.proposal));
  if (!decision.ok) {
    await privately(interaction, refusalText(decision));
    return;
  }
  const proposal = decision.proposal;
  deps.log.info(
    { proposal: id, action, userId: interaction.user.id, version: proposal.newVersion },
    'proposal decided',
  );
  await privately(
    interaction,
    proposal.state === 'approved'
      ? `✅ Ratified: the codex is now version ${proposal.newVersion}; the personas use it from the next turn. Autonomy resumes.`
      : '❌ Rejected. Autonomy resumes.',
  );
}
