import { type AttachmentBuilder, type Client, RESTJSONErrorCodes, type ThreadChannel } from 'discord.js';
import type { AppStore } from '../../services/appStore.ts';
import type { Clock } from '../../services/clock.ts';
import type { Logger } from '../../services/logger.ts';
import type { DialogueThread } from './dialogueThread.ts';
import { dialogueThreadFor, type PersonaTurns, type TurnOptions } from './dialogueThread.ts';
import { NO_MENTIONS } from './mentions.ts';
import { isDiscordError, PersonaWebhooks, type WebhookPart } from './personaWebhooks.ts';
import {
  createPostingScheduler,
  type PostingLimits,
  type PostingScheduler,
  type PostRequest,
} from './postingScheduler.ts';
import { turnMessages } from './turnMessages.ts';
import { createTurnStream, type TurnStream, type TurnStreamSettings } from './turnStream.ts';
import { watchWebhookResponses } from './webhookResponses.ts';

export { delayNotice } from './dialogueThread.ts';
export { NO_MENTIONS } from './mentions.ts';
export { WEBHOOK_NAME } from './personaWebhooks.ts';
export { turnMessages } from './turnMessages.ts';

export interface PersonaMessage {
  displayName: string;
  avatarUrl: string;
  content: string;
}

export interface PersonaPoster {
  /**
   * Posts a persona's turn into a thread under the persona's name and avatar (split as needed);
   * resolves with the ids of its messages, in order.
   */
  post(thread: ThreadChannel, message: PersonaMessage): Promise<string[]>;
  /**
   * Starts a persona's streamed turn in a thread: its words appear as they come and grow by
   * edits of its webhook messages. Undefined where the bot cannot use a webhook (the turn is
   * then posted whole).
   */
  stream(
    thread: ThreadChannel,
    persona: Omit<PersonaMessage, 'content'>,
    options?: Pick<PostRequest<WebhookPart>, 'opening' | 'onDelayed'>,
  ): TurnStream | undefined;
  /** A discord.js thread as the dialogue runner speaks in it. */
  threadFor(thread: ThreadChannel): DialogueThread;
}

/** What a poster's turns go through, wired once by {@link createPersonaPoster}. */
interface PosterDeps {
  store: AppStore;
  clock: Clock;
  logger: Logger;
  webhooks: PersonaWebhooks;
  scheduler: PostingScheduler<WebhookPart>;
  settings?: Partial<TurnStreamSettings>;
}

/**
 * Posts persona turns through one app-owned webhook per parent channel (created at most once,
 * even under concurrent use; its id persisted; recreated once when Discord forgets it), paced by
 * the posting scheduler: no 429s, threads of a channel taking turns, and a thread that Discord's
 * limits hold back is told so once per run. Without Manage Webhooks it falls back to posting as
 * the bot with the persona's name in bold, and says once per channel which permission would fix
 * that.
 */
export function createPersonaPoster(deps: {
  client: Client;
  store: AppStore;
  logger: Logger;
  clock: Clock;
  /** Discord's limits as the scheduler paces for them (default: Discord's; tests scale them down). */
  limits?: Partial<PostingLimits>;
  /** How streamed turns are paced (default: a round of edits a second per turn). */
  stream?: Partial<TurnStreamSettings>;
}): PersonaPoster {
  const logger = deps.logger.child({ module: 'webhooks' });
  const webhooks = new PersonaWebhooks({
    client: deps.client,
    store: deps.store,
    logger,
    responses: watchWebhookResponses(deps.client.rest),
  });
  const scheduler = createPostingScheduler<WebhookPart>({
    port: {
      async send(_target, part) {
        const report = await webhooks.send(part);
        part.sent = true;
        return report;
      },
    },
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.limits ? { limits: deps.limits } : {}),
  });
  const poster: PosterDeps = {
    store: deps.store,
    clock: deps.clock,
    logger,
    webhooks,
    scheduler,
    ...(deps.stream ? { settings: deps.stream } : {}),
  };
  const turns: PersonaTurns = {
    post: (thread, message, options) => postTurn(poster, thread, message, options),
    stream: (thread, persona, options) => streamTurn(poster, thread, persona, options),
  };
  return { ...turns, threadFor: (thread) => dialogueThreadFor(thread, { turns, logger }) };
}

/**
 * A persona's turn through the channel's webhook, or as the bot where no webhook may be used;
 * resolves with the ids of its messages, in order.
 */
async function postTurn(
  deps: PosterDeps,
  thread: ThreadChannel,
  message: PersonaMessage,
  options: TurnOptions = {},
): Promise<string[]> {
  if (!deps.webhooks.canManage(thread)) return postAsBot(deps, thread, message);
  const ids: string[] = [];
  const parts: WebhookPart[] = turnMessages(message.content).map((part) => ({
    thread,
    displayName: message.displayName,
    avatarUrl: message.avatarUrl,
    ...part,
    sent: false,
    onSent: (id) => ids.push(id),
  }));
  try {
    await deps.scheduler.post({
      channelId: thread.parentId ?? thread.id,
      threadId: thread.id,
      parts,
      ...options,
    });
    return ids;
  } catch (error) {
    if (!isDiscordError(error, RESTJSONErrorCodes.MissingPermissions)) throw error;
    const unsent = parts.filter((part) => !part.sent).map((part) => part.content);
    return [...ids, ...(await postAsBot(deps, thread, { ...message, content: unsent.join('\n') }))];
  }
}

/** Without a webhook: the turn as the bot, the persona's name in bold; the channel told once why. */
async function postAsBot(
  deps: Pick<PosterDeps, 'store'>,
  thread: ThreadChannel,
  message: PersonaMessage,
): Promise<string[]> {
  const noticeKey = `webhook-notice:${thread.parentId ?? thread.id}`;
  if (!(await deps.store.get<boolean>(noticeKey))) {
    await deps.store.set(noticeKey, true);
    await thread.send({
      content:
        'ℹ️ The personas speak through me here. Give me the **Manage Webhooks** permission in this channel ' +
        'and ALFRED, BRICK and ROBIN will post under their own names and avatars.',
      allowedMentions: NO_MENTIONS,
    });
  }
  const ids: string[] = [];
  for (const part of turnMessages(message.content, `**${message.displayName}:** `)) {
    ids.push((await thread.send({ ...part, allowedMentions: NO_MENTIONS })).id);
  }
  return ids;
}

/** A streamed turn whose posts, edits and deletions take their place in the channel's lane. */
function streamTurn(
  deps: PosterDeps,
  thread: ThreadChannel,
  persona: Omit<PersonaMessage, 'content'>,
  options: TurnOptions = {},
): TurnStream | undefined {
  if (!deps.webhooks.canManage(thread)) return undefined;
  const { scheduler } = deps;
  const target = { channelId: thread.parentId ?? thread.id, threadId: thread.id };
  const base = { thread, displayName: persona.displayName, avatarUrl: persona.avatarUrl, sent: false };
  let opening = options.opening === true;
  return createTurnStream<string>({
    clock: deps.clock,
    ...(deps.settings ? { settings: deps.settings } : {}),
    onError: (error) =>
      deps.logger.warn({ err: error, threadId: thread.id }, 'a streamed turn could not be shown'),
    port: {
      create(part) {
        return new Promise<string>((resolve, reject) => {
          scheduler
            .post({
              ...target,
              parts: [
                {
                  ...base,
                  content: part.content,
                  ...(part.files ? { files: part.files as AttachmentBuilder[] } : {}),
                  onSent: resolve,
                },
              ],
              opening,
              ...(options.onDelayed ? { onDelayed: options.onDelayed } : {}),
            })
            .catch(reject);
          opening = false;
        });
      },
      edit: (messageId, edit) =>
        scheduler.post({
          ...target,
          edit: true,
          parts: [{ ...base, content: '', change: { messageId, edit } }],
        }),
      remove: (messageId) =>
        scheduler.post({
          ...target,
          edit: true,
          parts: [{ ...base, content: '', change: { messageId, remove: true } }],
        }),
    },
  });
}
