import {
  type Client,
  Events,
  type MessageReaction,
  type PartialMessageReaction,
  type PartialUser,
  type User,
} from 'discord.js';
import type { Clock } from '../../services/clock.ts';
import type { Curation } from '../../services/curation/curation.ts';
import { type ReactionEmoji, type ReactionStore, voteOf } from '../../services/curation/reactions.ts';
import type { Logger } from '../../services/logger.ts';
import { createKeyedLock } from '../../shared/concurrency.ts';
import type { ArchitectGate } from '../access/architects.ts';

/** A reaction added or taken back, as plain facts. */
export interface ReactionEvent {
  change: 'add' | 'remove';
  emoji: { name: string | null; id: string | null; animated?: boolean | null };
  messageId: string;
  /** The server it happened in; null in a DM. */
  guildId: string | null;
  userId: string;
  /** A bot's reaction (the bot's own included) is no person's vote. */
  bot: boolean;
}

export interface ReactionDeps {
  reactions: Pick<ReactionStore, 'react' | 'unreact'>;
  architects: Pick<ArchitectGate, 'check'>;
  curation: Pick<Curation, 'withdrawVetoed'>;
  /** The emoji that vote, as the codex in force names them. */
  emoji: () => ReactionEmoji;
  clock: Clock;
  logger: Logger;
}

/**
 * A member's 👍 or 👎 on a persona's post, stored with its turn (other emoji, other messages and
 * bots are ignored). An architect's 👎 also withdraws the samples that persona's turns of the
 * dialogue already gave. Never rejects.
 */
export async function handleReaction(deps: ReactionDeps, event: ReactionEvent): Promise<void> {
  if (event.bot || !event.guildId) return;
  const vote = voteOf(event.emoji, deps.emoji());
  if (!vote) return;
  const { messageId, userId } = event;
  try {
    if (event.change === 'remove') {
      const post = await deps.reactions.unreact({ messageId, userId, vote });
      if (post) deps.logger.debug({ ...post, userId, vote }, 'a reaction to a persona post was taken back');
      return;
    }
    // Only a 👎 asks who the member is: an architect's withdraws samples already written.
    const architect =
      vote === 'down' && (await deps.architects.check({ guildId: event.guildId, user: { id: userId } })).ok;
    const post = await deps.reactions.react({ messageId, userId, vote, architect, at: deps.clock.now() });
    if (!post) return;
    deps.logger.debug({ ...post, userId, vote, architect }, 'a member reacted to a persona post');
    if (!architect) return;
    const withdrawn = await deps.curation.withdrawVetoed();
    deps.logger.info(
      { ...post, userId, samples: withdrawn.total, pendingOn: withdrawn.pendingOn },
      withdrawn.pendingOn
        ? "an architect's 👎: its samples go when the process curating now is done"
        : "an architect's 👎 withdrew the persona's samples of the dialogue",
    );
  } catch (error) {
    deps.logger.error({ err: error, messageId, userId }, 'could not record a reaction');
  }
}

/** The facts of a discord.js reaction event (the message and the user may be partial: nothing is fetched). */
function factsOf(
  change: ReactionEvent['change'],
  reaction: MessageReaction | PartialMessageReaction,
  user: User | PartialUser,
  botId: string | undefined,
): ReactionEvent {
  const { emoji, message } = reaction;
  return {
    change,
    emoji: { name: emoji.name, id: emoji.id, animated: emoji.animated },
    messageId: message.id,
    guildId: message.guildId,
    userId: user.id,
    bot: user.bot === true || user.id === botId,
  };
}

/**
 * Hands every reaction added or removed to {@link handleReaction} while the bot runs, one at a
 * time per member and message (a 👎 taken back at once must not overtake its own arrival). The
 * client keeps no message in its cache, so discord.js delivers them on partial messages (the
 * `Message`, `Reaction` and `User` partials, see client.ts).
 */
export function listenToReactions(client: Client, deps: ReactionDeps & { isStopping: () => boolean }): void {
  const inOrder = createKeyedLock();
  const on =
    (change: ReactionEvent['change']) =>
    (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) => {
      if (deps.isStopping()) return;
      const event = factsOf(change, reaction, user, client.user?.id);
      void inOrder.run(`${event.messageId}:${event.userId}`, () => handleReaction(deps, event));
    };
  client.on(Events.MessageReactionAdd, on('add'));
  client.on(Events.MessageReactionRemove, on('remove'));
}
