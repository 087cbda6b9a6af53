/**
 * Every REST route the emulator answers, in matching order (the first route whose method and
 * template match a request handles it: `/users/@me` before `/users/:user`).
 */

import type { Route } from '../model.ts';
import { channelRoutes } from './channels.ts';
import { commandRoutes } from './commands.ts';
import { guildRoutes } from './guilds.ts';
import { interactionRoutes } from './interactions.ts';
import { messageRoutes } from './messages.ts';
import { threadRoutes } from './threads.ts';
import { userRoutes } from './users.ts';
import { webhookRoutes } from './webhooks.ts';

export const ROUTES: readonly Route[] = [
  ...userRoutes,
  ...guildRoutes,
  ...channelRoutes,
  ...messageRoutes,
  ...threadRoutes,
  ...webhookRoutes,
  ...interactionRoutes,
  ...commandRoutes,
];
