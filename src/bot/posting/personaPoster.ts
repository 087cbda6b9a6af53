import {
  AttachmentBuilder,
  type Client,
  DiscordAPIError,
  PermissionFlagsBits,
  RESTJSONErrorCodes,
  type ThreadChannel,
  type Webhook,
} from 'discord.js';
import type { AppStore } from '../../services/appStore.ts';
import type { Clock } from '../../services/clock.ts';
import type { Logger } from '../../services/logger.ts';
import type { DialogueThread } from '../dialogue/dialogueRunner.ts';
import {
  createPostingScheduler,
  type PostingLimits,
  type PostRequest,
  type SendReport,
} from './postingScheduler.ts';
import { DEFAULT_MAX_POSTS, planPosts } from './splitMessage.ts';
import { createTurnStream, type TurnPart, type TurnStream, type TurnStreamSettings } from './turnStream.ts';
import { watchWebhookResponses } from './webhookResponses.ts';

/** Model output must never ping anyone. */
export const NO_MENTIONS = { parse: [] as never[], repliedUser: false };

/** The one webhook the bot owns in each parent channel. */
export const WEBHOOK_NAME = 'BAT OS';

export interface PersonaMessage {
  displayName: string;
  avatarUrl: string;
  content: string;
}

export interface PersonaPoster {
  /** Posts a persona's turn into a thread under the persona's name and avatar (split as needed). */
  post(thread: ThreadChannel, message: PersonaMessage): Promise<void>;
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

/** What a thread is told, once per run, when Discord's limits hold its next turn back. */
export function delayNotice(waitMs: number): string {
  return `⏳ Discord is rate-limiting this channel; the rest follows in ~${Math.ceil(waitMs / 1000)} s.`;
}

/** One webhook message of a persona's turn; `sent` once Discord has it. */
interface WebhookPart {
  thread: ThreadChannel;
  displayName: string;
  avatarUrl: string;
  content: string;
  /** The rest of a turn too long for its messages, attached to its last one. */
  files?: AttachmentBuilder[];
  sent: boolean;
  /** Instead of a new message: an edit of one (its text read as it goes out), or its deletion. */
  change?: { messageId: string; edit: () => TurnPart } | { messageId: string; remove: true };
  /** Told the new message's id once Discord has it. */
  onSent?: (messageId: string) => void;
}

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

interface StoredWebhook {
  id: string;
  token: string;
}

const isDiscordError = (error: unknown, code: number) =>
  error instanceof DiscordAPIError && error.code === code;

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
  const log = deps.logger.child({ module: 'webhooks' });
  const webhooks = new Map<string, Promise<Webhook>>();
  const keyOf = (channelId: string) => `webhook:${channelId}`;
  const responses = watchWebhookResponses(deps.client.rest);

  async function findOrCreate(thread: ThreadChannel): Promise<Webhook> {
    const parent = thread.parent;
    if (!parent || !('fetchWebhooks' in parent))
      throw new Error(`thread ${thread.id} has no webhook-capable parent`);
    const stored = await deps.store.get<StoredWebhook>(keyOf(parent.id));
    if (stored) {
      try {
        return await deps.client.fetchWebhook(stored.id, stored.token);
      } catch (error) {
        if (!isDiscordError(error, RESTJSONErrorCodes.UnknownWebhook)) throw error;
        await deps.store.delete(keyOf(parent.id));
      }
    }
    const applicationId = deps.client.application?.id ?? deps.client.user?.id;
    const existing = (await parent.fetchWebhooks()).find(
      (hook) => hook.applicationId === applicationId && hook.token && hook.name === WEBHOOK_NAME,
    );
    const webhook =
      existing ??
      (await parent.createWebhook({
        name: WEBHOOK_NAME,
        reason: 'Lets the BAT OS personas speak under their own names',
      }));
    if (!webhook.token) throw new Error('Discord returned a webhook without a token');
    await deps.store.set<StoredWebhook>(keyOf(parent.id), { id: webhook.id, token: webhook.token });
    log.info({ channelId: parent.id, webhookId: webhook.id, created: !existing }, 'persona webhook ready');
    return webhook;
  }

  function webhookFor(thread: ThreadChannel): Promise<Webhook> {
    const parentId = thread.parentId ?? thread.id;
    let pending = webhooks.get(parentId);
    if (!pending) {
      pending = findOrCreate(thread);
      webhooks.set(parentId, pending);
      pending.catch(() => webhooks.delete(parentId));
    }
    return pending;
  }

  async function forget(thread: ThreadChannel): Promise<void> {
    const parentId = thread.parentId ?? thread.id;
    webhooks.delete(parentId);
    await deps.store.delete(keyOf(parentId));
  }

  function canManageWebhooks(thread: ThreadChannel): boolean {
    const me = deps.client.user;
    const permissions = me ? thread.parent?.permissionsFor(me) : null;
    return permissions?.has(PermissionFlagsBits.ManageWebhooks) ?? false;
  }

  async function postAsBot(thread: ThreadChannel, message: PersonaMessage): Promise<void> {
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
    for (const part of turnMessages(message.content, `**${message.displayName}:** `)) {
      await thread.send({ ...part, allowedMentions: NO_MENTIONS });
    }
  }

  /** One message through the channel's webhook; a webhook Discord forgot is recreated once. */
  async function execute(part: WebhookPart): Promise<SendReport> {
    const send = async () => {
      const webhook = await webhookFor(part.thread);
      const change = part.change;
      if (change && 'remove' in change) {
        return responses.during(webhook.id, () => webhook.deleteMessage(change.messageId, part.thread.id));
      }
      if (change) {
        const edit = change.edit();
        return responses.during(webhook.id, () =>
          webhook.editMessage(change.messageId, {
            content: edit.content,
            ...(edit.files ? { files: edit.files as AttachmentBuilder[] } : {}),
            threadId: part.thread.id,
            allowedMentions: NO_MENTIONS,
          }),
        );
      }
      let id = '';
      const report = await responses.during(webhook.id, async () => {
        id = (
          await webhook.send({
            content: part.content,
            ...(part.files ? { files: part.files } : {}),
            username: part.displayName,
            avatarURL: part.avatarUrl,
            threadId: part.thread.id,
            allowedMentions: NO_MENTIONS,
          })
        ).id;
      });
      part.onSent?.(id);
      return report;
    };
    // An edit of a message of a webhook Discord forgot cannot be made through a new one.
    if (part.change) return send();
    try {
      return await send();
    } catch (error) {
      if (!isDiscordError(error, RESTJSONErrorCodes.UnknownWebhook)) throw error;
      log.warn({ threadId: part.thread.id }, 'persona webhook was deleted; recreating it once');
      await forget(part.thread);
      return await send();
    }
  }

  const scheduler = createPostingScheduler<WebhookPart>({
    port: {
      async send(_target, part) {
        const report = await execute(part);
        part.sent = true;
        return report;
      },
    },
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.limits ? { limits: deps.limits } : {}),
  });

  async function post(
    thread: ThreadChannel,
    message: PersonaMessage,
    options: Pick<PostRequest<WebhookPart>, 'opening' | 'onDelayed'> = {},
  ): Promise<void> {
    if (!canManageWebhooks(thread)) return postAsBot(thread, message);
    const parts: WebhookPart[] = turnMessages(message.content).map((part) => ({
      thread,
      displayName: message.displayName,
      avatarUrl: message.avatarUrl,
      ...part,
      sent: false,
    }));
    try {
      await scheduler.post({
        channelId: thread.parentId ?? thread.id,
        threadId: thread.id,
        parts,
        ...options,
      });
    } catch (error) {
      if (!isDiscordError(error, RESTJSONErrorCodes.MissingPermissions)) throw error;
      const unsent = parts.filter((part) => !part.sent).map((part) => part.content);
      return postAsBot(thread, { ...message, content: unsent.join('\n') });
    }
  }

  function stream(
    thread: ThreadChannel,
    persona: Omit<PersonaMessage, 'content'>,
    options: Pick<PostRequest<WebhookPart>, 'opening' | 'onDelayed'> = {},
  ): TurnStream | undefined {
    if (!canManageWebhooks(thread)) return undefined;
    const target = { channelId: thread.parentId ?? thread.id, threadId: thread.id };
    const base = { thread, displayName: persona.displayName, avatarUrl: persona.avatarUrl, sent: false };
    let opening = options.opening === true;
    return createTurnStream<string>({
      clock: deps.clock,
      ...(deps.stream ? { settings: deps.stream } : {}),
      onError: (error) => log.warn({ err: error, threadId: thread.id }, 'a streamed turn could not be shown'),
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

  return {
    post,
    stream,
    threadFor(thread) {
      // A DialogueThread serves one run: its first turn opens it, and it is told of a delay once.
      let spoke = false;
      let toldDelay = false;
      const tellDelayed = (waitMs: number) => {
        if (toldDelay) return;
        toldDelay = true;
        thread
          .send({ content: delayNotice(waitMs), allowedMentions: NO_MENTIONS })
          .catch((error: unknown) =>
            log.warn({ err: error, threadId: thread.id }, 'could not post the delay notice'),
          );
      };
      return {
        id: thread.id,
        guildId: thread.guildId,
        parentId: thread.parentId,
        async send(content) {
          await thread.send({ ...content, allowedMentions: NO_MENTIONS });
        },
        stream(persona) {
          const turn = stream(thread, persona, { opening: !spoke, onDelayed: tellDelayed });
          if (!turn) return undefined;
          spoke = true;
          return {
            update: (text) => turn.update(text),
            finish: (content) => turn.finish(turnMessages(content)),
            abandon: () => turn.abandon(),
            stats: turn.stats,
          };
        },
        speak(persona, content) {
          const opening = !spoke;
          spoke = true;
          return post(
            thread,
            { displayName: persona.displayName, avatarUrl: persona.avatarUrl, content },
            { opening, onDelayed: tellDelayed },
          );
        },
        async typing() {
          await thread.sendTyping();
        },
        async tellOutside(content) {
          const parent = thread.parent;
          if (parent?.isSendable()) await parent.send({ content, allowedMentions: NO_MENTIONS });
        },
      };
    },
  };
}
