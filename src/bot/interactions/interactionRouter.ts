import { type Interaction, MessageFlags, type RepliableInteraction } from 'discord.js';
import type { Logger } from '../../services/logger.ts';
import { describeFailure } from '../failures.ts';
import type { BotPorts } from '../ports.ts';
import type { ButtonRegistry } from './buttons.ts';
import type { CommandRegistry } from './commandRegistry.ts';

/** Replies ephemerally whatever state the interaction is in (fresh, deferred or answered). */
export async function replyPrivately(interaction: RepliableInteraction, content: string): Promise<void> {
  const payload = { content, allowedMentions: { parse: [] } };
  if (interaction.deferred && !interaction.replied) {
    if (interaction.ephemeral) {
      await interaction.editReply(payload);
      return;
    }
    // A public "thinking…" placeholder of a command must not turn into a public error. (A
    // button's deferred update has no placeholder: its original is the message it sits on.)
    if (interaction.isChatInputCommand()) await interaction.deleteReply().catch(() => undefined);
    await interaction.followUp({ ...payload, flags: MessageFlags.Ephemeral });
  } else if (interaction.replied) await interaction.followUp({ ...payload, flags: MessageFlags.Ephemeral });
  else await interaction.reply({ ...payload, flags: MessageFlags.Ephemeral });
}

/**
 * The one entry for interactions: finds the command (by name) or the button family (by custom-id
 * prefix), checks the architect role where a command asks, defers what may be slow, and turns
 * every error into an ephemeral reply.
 */
export function createInteractionRouter(deps: {
  commands: CommandRegistry;
  buttons: ButtonRegistry;
  ports: BotPorts;
  logger: Logger;
}) {
  const log = deps.logger.child({ module: 'interactions' });
  const { ports } = deps;

  async function report(interaction: RepliableInteraction, error: unknown, context: Record<string, unknown>) {
    const text = describeFailure(error, log, context);
    await replyPrivately(interaction, text).catch((replyError: unknown) =>
      log.error({ ...context, err: replyError }, 'could not report a failure'),
    );
  }

  return async function onInteraction(interaction: Interaction): Promise<void> {
    if (interaction.isButton()) {
      const family = deps.buttons.find(interaction.customId);
      if (!family) return;
      try {
        await family.handle(interaction);
      } catch (error) {
        await report(interaction, error, { button: interaction.customId, userId: interaction.user.id });
      }
      return;
    }
    if (interaction.isAutocomplete()) {
      const command = deps.commands.get(interaction.commandName);
      try {
        const typed = String(interaction.options.getFocused(false)).toLowerCase();
        const choices = (await command?.autocomplete?.(interaction, ports)) ?? [];
        // What matches what is typed first; Discord shows at most 25.
        const ranked = [...choices].sort(
          (a, b) =>
            Number(!a.name.toLowerCase().includes(typed)) - Number(!b.name.toLowerCase().includes(typed)),
        );
        await interaction.respond(
          ranked.slice(0, 25).map((c) => ({ name: c.name.slice(0, 100), value: c.value })),
        );
      } catch (error) {
        log.warn({ err: error, command: interaction.commandName }, 'autocomplete failed');
        await interaction.respond([]).catch(() => undefined);
      }
      return;
    }
    if (!interaction.isChatInputCommand()) return;
    const command = deps.commands.get(interaction.commandName);
    const context = {
      command: interaction.commandName,
      userId: interaction.user.id,
      guildId: interaction.guildId,
    };
    try {
      if (!command) {
        await replyPrivately(
          interaction,
          `I do not know /${interaction.commandName}: run \`npm run deploy-commands\`.`,
        );
        return;
      }
      const architectOnly =
        typeof command.architectOnly === 'function'
          ? command.architectOnly(interaction, ports.config)
          : command.architectOnly;
      if (architectOnly) {
        const verdict = await ports.architects.check(interaction);
        if (!verdict.ok) {
          log.info({ ...context, code: verdict.code }, 'architect-only command refused');
          await replyPrivately(interaction, verdict.reason);
          return;
        }
      }
      const deferral = typeof command.defer === 'function' ? command.defer(interaction) : command.defer;
      if (deferral) {
        await interaction.deferReply(deferral === 'ephemeral' ? { flags: MessageFlags.Ephemeral } : {});
      }
      await command.execute(interaction, ports);
    } catch (error) {
      await report(interaction, error, context);
    }
  };
}
