import {
  type ChatInputCommandInteraction,
  type Interaction,
  MessageFlags,
  type RepliableInteraction,
} from 'discord.js';
import type { Logger } from '../../services/logger.ts';
import type { SlidingWindow } from '../../services/slidingWindow.ts';
import { truncate } from '../../shared/text.ts';
import type { ArchitectGate, Asker } from '../access/architects.ts';
import { admitMember } from '../access/memberRuns.ts';
import { describeFailure, failureDetail } from '../failures.ts';
import type { BotPorts } from '../ports.ts';
import type { ButtonRegistry } from './buttons.ts';
import type { Command } from './command.ts';
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
 * A failure's words for whoever ran the command or pressed the button (always ephemeral): the
 * public words, and for an architect what they leave out (the server's address, the paths), so
 * the one who can fix it need not go to the log.
 */
export async function failureReply(
  error: unknown,
  asker: Asker,
  deps: { architects: Pick<ArchitectGate, 'check'>; log: Logger; context: Record<string, unknown> },
): Promise<string> {
  const text = describeFailure(error, deps.log, deps.context);
  const detail = failureDetail(error);
  if (!detail) return text;
  const architect = await deps.architects.check(asker).then(
    (verdict) => verdict.ok,
    () => false,
  );
  return architect ? `${text}\n-# Only you see this, as an architect: ${truncate(detail, 1500)}` : text;
}

/** Whether this run of the command counts against the member's `MEMBER_RUNS_PER_HOUR`. */
function isLimited(command: Command, interaction: ChatInputCommandInteraction): boolean {
  return typeof command.limited === 'function' ? command.limited(interaction) : command.limited === true;
}

/**
 * The one entry for interactions: finds the command (by name) or the button family (by custom-id
 * prefix), checks the architect role where a command asks, counts the commands that use the
 * models in the member's window (the one their dialogues share), defers what may be slow, and
 * turns every error into an ephemeral reply.
 */
export function createInteractionRouter(deps: {
  commands: CommandRegistry;
  buttons: ButtonRegistry;
  ports: BotPorts;
  /** Runs per member within the hour: the dialogue starter's window, shared. */
  memberRuns: SlidingWindow;
  logger: Logger;
}) {
  const log = deps.logger.child({ module: 'interactions' });
  const { ports } = deps;

  async function report(interaction: RepliableInteraction, error: unknown, context: Record<string, unknown>) {
    const text = await failureReply(error, interaction, { architects: ports.architects, log, context });
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
      if (isLimited(command, interaction)) {
        const sub = interaction.options.getSubcommand(false);
        const named = `/${interaction.commandName}${sub ? ` ${sub}` : ''}`;
        const refused = admitMember(deps.memberRuns, log, interaction.user.id, `use ${named} again`);
        if (refused) {
          await replyPrivately(interaction, `⏳ ${refused.reason}`);
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
