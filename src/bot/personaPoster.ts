import {
  type Client,
  DiscordAPIError,
  PermissionFlagsBits,
  RESTJSONErrorCodes,
  type ThreadChannel,
  type Webhook,
} from 'discord.js';
import type { AppStore } from '../services/appStore.ts';
import type { Logger } from '../services/logger.ts';
import type { DialogueThread } from './dialogueRunner.ts';
import { splitMessage } from './splitMessage.ts';

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
  /** A discord.js thread as the dialogue runner speaks in it. */
  threadFor(thread: ThreadChannel): DialogueThread;
}

interface StoredWebhook {
  id: string;
  token: string;
}

const isDiscordError = (error: unknown, code: number) =>
  error instanceof DiscordAPIError && error.code === code;

/**
 * Posts persona turns through one app-owned webhook per parent channel (created at most once,
 * even under concurrent use; its id persisted; recreated once when Discord forgets it). Without
 * Manage Webhooks it falls back to posting as the bot with the persona's name in bold, and says
 * once per channel which permission would fix that.
 */
export function createPersonaPoster(deps: {
  client: Client;
  store: AppStore;
  logger: Logger;
}): PersonaPoster {
  const log = deps.logger.child({ module: 'webhooks' });
  const webhooks = new Map<string, Promise<Webhook>>();
  const keyOf = (channelId: string) => `webhook:${channelId}`;

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
    for (const part of splitMessage(`**${message.displayName}:** ${message.content}`)) {
      await thread.send({ content: part, allowedMentions: NO_MENTIONS });
    }
  }

  async function sendParts(
    webhook: Webhook,
    thread: ThreadChannel,
    message: PersonaMessage,
    parts: string[],
  ) {
    for (let part = parts[0]; part !== undefined; part = parts[0]) {
      await webhook.send({
        content: part,
        username: message.displayName,
        avatarURL: message.avatarUrl,
        threadId: thread.id,
        allowedMentions: NO_MENTIONS,
      });
      parts.shift();
    }
  }

  async function post(thread: ThreadChannel, message: PersonaMessage): Promise<void> {
    if (!canManageWebhooks(thread)) return postAsBot(thread, message);
    const parts = splitMessage(message.content);
    try {
      await sendParts(await webhookFor(thread), thread, message, parts);
    } catch (error) {
      if (isDiscordError(error, RESTJSONErrorCodes.MissingPermissions))
        return postAsBot(thread, { ...message, content: parts.join('\n') });
      if (!isDiscordError(error, RESTJSONErrorCodes.UnknownWebhook)) throw error;
      log.warn({ threadId: thread.id }, 'persona webhook was deleted; recreating it once');
      await forget(thread);
      await sendParts(await webhookFor(thread), thread, message, parts);
    }
  }

  return {
    post,
    threadFor(thread) {
      return {
        id: thread.id,
        guildId: thread.guildId,
        parentId: thread.parentId,
        async send(content) {
          await thread.send({ ...content, allowedMentions: NO_MENTIONS });
        },
        speak: (persona, content) =>
          post(thread, { displayName: persona.displayName, avatarUrl: persona.avatarUrl, content }),
        async typing() {
          await thread.sendTyping();
        },
      };
    },
  };
}
