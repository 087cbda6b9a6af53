import { type Interaction, MessageFlags, type RepliableInteraction } from 'discord.js';
import type { BotContext } from './botContext.ts';
import type { CommandRegistry } from './commandRegistry.ts';
import { describeFailure } from './failures.ts';
import { BUTTON_PREFIX, onGovernanceButton } from './governance.ts';
import { checkArchitect } from './permissions.ts';

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
 * The one entry for interactions: finds the command, checks the architect role where asked,
 * defers what may be slow, and turns every error into an ephemeral reply.
 */
export function createInteractionRouter(ctx: BotContext, commands: CommandRegistry) {
  const log = ctx.logger.child({ module: 'interactions' });
  return async function onInteraction(interaction: Interaction): Promise<void> {
    if (interaction.isButton() && interaction.customId.startsWith(`${BUTTON_PREFIX}:`)) {
      const context = { button: interaction.customId, userId: interaction.user.id };
      try {
        await onGovernanceButton(interaction, ctx);
      } catch (error) {
        const text = describeFailure(error, log, context);
        await replyPrivately(interaction, text).catch((replyError: unknown) =>
          log.error({ ...context, err: replyError }, 'could not report a button failure'),
        );
      }
      return;
    }
    if (!interaction.isChatInputCommand()) return;
    const command = commands.get(interaction.commandName);
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
          ? command.architectOnly(interaction, ctx.runtime.config)
          : command.architectOnly;
      if (architectOnly) {
        const verdict = checkArchitect(interaction, ctx.architects());
        if (!verdict.ok) {
          log.info(context, 'architect-only command refused');
          await replyPrivately(interaction, verdict.reason);
          return;
        }
      }
      if (command.defer) {
        await interaction.deferReply(command.defer === 'ephemeral' ? { flags: MessageFlags.Ephemeral } : {});
      }
      await command.execute(interaction, ctx);
    } catch (error) {
      const text = describeFailure(error, log, context);
      await replyPrivately(interaction, text).catch((replyError: unknown) =>
        log.error({ ...context, err: replyError }, 'could not report a command failure'),
      );
    }
  };
}
