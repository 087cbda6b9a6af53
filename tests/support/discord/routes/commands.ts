/** Routes for application commands, global and per guild. */

import type { CommandState, EmulatorState, Route, RouteContext, RouteResult } from '../model.ts';
import { commandPayload } from '../payloads.ts';
import { ApiError, invalidJson, noContent, ok } from '../results.ts';
import { snowflake } from '../state.ts';
import { isObject } from '../util.ts';
import { validateCommands } from '../validation.ts';
import { guildFor } from './guilds.ts';
import { route } from './table.ts';

export const commandRoutes: Route[] = [
  '/applications/:application',
  '/applications/:application/guilds/:guild',
].flatMap((prefix) => [
  route('GET', `${prefix}/commands`, (state, c) =>
    ok(commandsFor(state, c).map((command) => commandPayload(state, command))),
  ),
  route('PUT', `${prefix}/commands`, overwriteCommands),
  route('POST', `${prefix}/commands`, upsertCommand),
  route('GET', `${prefix}/commands/:command`, (state, c) => ok(commandPayload(state, commandFor(state, c)))),
  route('PATCH', `${prefix}/commands/:command`, (state, c) => {
    const command = commandFor(state, c);
    if (!isObject(c.body)) throw invalidJson();
    const merged = { ...command.body, ...c.body };
    validateCommands([merged], false);
    command.body = merged;
    return ok(commandPayload(state, command));
  }),
  route('DELETE', `${prefix}/commands/:command`, (state, c) => {
    const command = commandFor(state, c);
    state.commandStates.splice(state.commandStates.indexOf(command), 1);
    return noContent();
  }),
]);

/** The guild a command route is for (undefined: global); 403 for another application. */
function commandScope(state: EmulatorState, context: RouteContext): string | undefined {
  if (context.param('application') !== state.applicationId) {
    throw new ApiError(403, 20012, 'You are not authorized to perform this action on this application');
  }
  if (!context.path.includes('/guilds/')) return undefined;
  guildFor(state, context);
  return context.param('guild');
}

function commandsFor(state: EmulatorState, context: RouteContext): CommandState[] {
  const guildId = commandScope(state, context);
  return state.commandStates.filter((command) => command.guildId === guildId);
}

function commandFor(state: EmulatorState, context: RouteContext): CommandState {
  const command = commandsFor(state, context).find((candidate) => candidate.id === context.param('command'));
  if (!command) throw new ApiError(404, 10063, 'Unknown application command');
  return command;
}

/** `PUT .../commands`: replaces every command in the scope (ids kept for the same name and type). */
function overwriteCommands(state: EmulatorState, context: RouteContext): RouteResult {
  const guildId = commandScope(state, context);
  if (!Array.isArray(context.body)) throw invalidJson();
  const bodies = context.body.filter(isObject);
  validateCommands(bodies, true);
  const previous = state.commandStates.filter((command) => command.guildId === guildId);
  const next = bodies.map((body) => {
    // Discord keeps the id of a command that is overwritten under the same name and type.
    const kept = previous.find(
      (command) => command.body.name === body.name && (command.body.type ?? 1) === (body.type ?? 1),
    );
    const command: CommandState = { id: kept?.id ?? snowflake(state), body: { ...body } };
    if (guildId) command.guildId = guildId;
    return command;
  });
  for (const command of previous) state.commandStates.splice(state.commandStates.indexOf(command), 1);
  state.commandStates.push(...next);
  return ok(next.map((command) => commandPayload(state, command)));
}

/** `POST .../commands`: creates a command (201), or replaces the one with the same name and type (200). */
function upsertCommand(state: EmulatorState, context: RouteContext): RouteResult {
  const guildId = commandScope(state, context);
  if (!isObject(context.body)) throw invalidJson();
  const body = context.body;
  validateCommands([body], false);
  const existing = state.commandStates.find(
    (command) =>
      command.guildId === guildId &&
      command.body.name === body.name &&
      (command.body.type ?? 1) === (body.type ?? 1),
  );
  if (existing) {
    existing.body = { ...body };
    return ok(commandPayload(state, existing));
  }
  const command: CommandState = { id: snowflake(state), body: { ...body } };
  if (guildId) command.guildId = guildId;
  state.commandStates.push(command);
  return { status: 201, body: commandPayload(state, command) };
}
