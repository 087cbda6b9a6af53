import {
  type AttachmentBuilder,
  type Client,
  DiscordAPIError,
  PermissionFlagsBits,
  RESTJSONErrorCodes,
  type ThreadChannel,
  type Webhook,
} from 'discord.js';
import type { AppStore } from '../../services/appStore.ts';
import type { Logger } from '../../services/logger.ts';
import { NO_MENTIONS } from './mentions.ts';
import type { SendReport } from './postingPort.ts';
import type { TurnPart } from './streamedMessages.ts';
import type { WebhookResponses } from './webhookResponses.ts';

/** The one webhook the bot owns in each parent channel. */
export const WEBHOOK_NAME = 'BAT OS';

/** One webhook message of a persona's turn; `sent` once Discord has it. */
export interface WebhookPart {
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

interface StoredWebhook {
  id: string;
  token: string;
}

export const isDiscordError = (error: unknown, code: number) =>
  error instanceof DiscordAPIError && error.code === code;

const keyOf = (channelId: string) => `webhook:${channelId}`;

/**
 * The app-owned webhook of each parent channel, and the messages sent through it. It is created
 * at most once, even under concurrent use; its id persisted; recreated once when Discord forgets it.
 */
export class PersonaWebhooks {
  /** Per parent channel, the webhook found or on its way: concurrent posts share one. */
  private readonly webhooks = new Map<string, Promise<Webhook>>();

  constructor(
    private readonly deps: {
      client: Client;
      store: AppStore;
      logger: Logger;
      /** Discord's answers to the webhooks' requests: the limits each message met. */
      responses: WebhookResponses;
    },
  ) {}

  /** Whether the bot may use a webhook in the thread's channel. */
  canManage(thread: ThreadChannel): boolean {
    const me = this.deps.client.user;
    const permissions = me ? thread.parent?.permissionsFor(me) : null;
    return permissions?.has(PermissionFlagsBits.ManageWebhooks) ?? false;
  }

  /** One message through the channel's webhook; a webhook Discord forgot is recreated once. */
  async send(part: WebhookPart): Promise<SendReport> {
    // An edit of a message of a webhook Discord forgot cannot be made through a new one.
    if (part.change) return this.sendOnce(part);
    try {
      return await this.sendOnce(part);
    } catch (error) {
      if (!isDiscordError(error, RESTJSONErrorCodes.UnknownWebhook)) throw error;
      this.deps.logger.warn({ threadId: part.thread.id }, 'persona webhook was deleted; recreating it once');
      await this.forget(part.thread);
      return await this.sendOnce(part);
    }
  }

  private async sendOnce(part: WebhookPart): Promise<SendReport> {
    const { responses } = this.deps;
    const webhook = await this.webhookFor(part.thread);
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
  }

  private webhookFor(thread: ThreadChannel): Promise<Webhook> {
    const parentId = thread.parentId ?? thread.id;
    let pending = this.webhooks.get(parentId);
    if (!pending) {
      pending = this.findOrCreate(thread);
      this.webhooks.set(parentId, pending);
      pending.catch(() => this.webhooks.delete(parentId));
    }
    return pending;
  }

  private async forget(thread: ThreadChannel): Promise<void> {
    const parentId = thread.parentId ?? thread.id;
    this.webhooks.delete(parentId);
    await this.deps.store.delete(keyOf(parentId));
  }

  private async findOrCreate(thread: ThreadChannel): Promise<Webhook> {
    const { client, store } = this.deps;
    const parent = thread.parent;
    if (!parent || !('fetchWebhooks' in parent))
      throw new Error(`thread ${thread.id} has no webhook-capable parent`);
    const stored = await store.get<StoredWebhook>(keyOf(parent.id));
    if (stored) {
      try {
        return await client.fetchWebhook(stored.id, stored.token);
      } catch (error) {
        if (!isDiscordError(error, RESTJSONErrorCodes.UnknownWebhook)) throw error;
        await store.delete(keyOf(parent.id));
      }
    }
    const applicationId = client.application?.id ?? client.user?.id;
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
    await store.set<StoredWebhook>(keyOf(parent.id), { id: webhook.id, token: webhook.token });
    this.deps.logger.info(
      { channelId: parent.id, webhookId: webhook.id, created: !existing },
      'persona webhook ready',
    );
    return webhook;
  }
}
