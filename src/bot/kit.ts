/**
 * The command kit: the bot's values that slash commands (`commands/`) may import. Commands get
 * everything else as ports (`Command<'memory' | …>`) and may import types from anywhere; a test
 * keeps them to this file, `src/shared/` and discord.js.
 */
import type { SlashCommandStringOption } from 'discord.js';
import { findAppError } from '../services/errors.ts';
import { publicMessageOf } from '../shared/hostDetails.ts';

export { dissonanceChartPng } from './cards/dissonanceChart.ts';
export { toolCard } from './cards/toolCard.ts';
export { threadNameFor } from './dialogue/startDialogue.ts';
export { jobDetail as finetuneDetail, jobEmbed as finetuneEmbed } from './finetune/finetuneUi.ts';
export { refusalText } from './governance/proposalCard.ts';
export { finishSlowReply } from './interactions/slowReply.ts';
export { NO_MENTIONS } from './posting/mentions.ts';

/** A required `persona` option, completed from the personas in force (the command's `autocomplete`). */
export function personaOption(option: SlashCommandStringOption): SlashCommandStringOption {
  return option
    .setName('persona')
    .setDescription('ALFRED, BRICK, ROBIN, …')
    .setRequired(true)
    .setMaxLength(32)
    .setAutocomplete(true);
}

/**
 * An error's words for anyone: an AppError's public message, else the error's text without the
 * host's details (no server address, path or command line).
 */
export function errorText(error: unknown): string {
  return publicMessageOf(error);
}

/** An error's words for the operator (an architect, privately): the whole message, addresses and paths included. */
export function operatorText(error: unknown): string {
  return findAppError(error)?.message ?? (error instanceof Error ? error.message : String(error));
}
