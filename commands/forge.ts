import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command, PortsOf } from '../src/bot/interactions/command.ts';
import { personaOption } from '../src/bot/kit.ts';
import {
  finetuneChoices,
  finetuneStatus,
  rollbackFinetune,
  startFinetune,
  versionOption,
} from './finetune.ts';
import { forgeTool, specOption } from './tools.ts';

const ARCHITECT_ONLY = new Set(['finetune', 'rollback']);

/**
 * `/forge tool|finetune|rollback|status`: the old name of `/tools forge` and `/finetune
 * run|rollback|status`, kept so that members' habits and scripts keep working. It does exactly
 * what the new commands do; `/help` lists only those.
 */
const forge: Command<PortsOf<'tools' | 'toolForge' | 'fineTuner' | 'personas' | 'architects' | 'access'>> = {
  data: new SlashCommandBuilder()
    .setName('forge')
    .setDescription('Old name of /tools forge and /finetune')
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((sub) =>
      sub.setName('tool').setDescription('Same as /tools forge').addStringOption(specOption),
    )
    .addSubcommand((sub) =>
      sub
        .setName('finetune')
        .setDescription('Same as /finetune run (architect)')
        .addStringOption(personaOption),
    )
    .addSubcommand((sub) =>
      sub
        .setName('rollback')
        .setDescription('Same as /finetune rollback (architect)')
        .addStringOption(personaOption)
        .addIntegerOption(versionOption),
    )
    .addSubcommand((sub) => sub.setName('status').setDescription('Same as /finetune status'))
    .toJSON(),
  aliasOf: ['tools', 'finetune'],
  defer: 'public',
  architectOnly: (interaction, config) => {
    const sub = interaction.options.getSubcommand();
    return ARCHITECT_ONLY.has(sub) || (sub === 'tool' && !config.forgeOpenToAll);
  },
  // As /tools forge and /finetune run count, so do their older names.
  limited: (interaction) => ['tool', 'finetune'].includes(interaction.options.getSubcommand()),
  autocomplete: finetuneChoices,
  async execute(interaction, ports) {
    const sub = interaction.options.getSubcommand();
    if (sub === 'finetune') await startFinetune(interaction, ports);
    else if (sub === 'rollback') await rollbackFinetune(interaction, ports);
    else if (sub === 'status') await finetuneStatus(interaction, ports);
    else await forgeTool(interaction, ports);
  },
};

export default forge;
