import { join } from 'node:path';
import {
  AttachmentBuilder,
  EmbedBuilder,
  InteractionContextType,
  SlashCommandBuilder,
  TimestampStyles,
  time,
} from 'discord.js';
import type { Command, PortsOf } from '../src/bot/command.ts';
import { dissonanceChartPng, errorText, hasModel } from '../src/bot/kit.ts';
import type { OllamaHealth } from '../src/services/llm/ollamaModels.ts';
import type { JobStatus } from '../src/services/scheduler.ts';
import { formatBytes } from '../src/shared/text.ts';

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const parts = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ] as const;
  return parts
    .filter(([n], i) => n > 0 || i === parts.length - 1)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');
}

const CHART_DAYS = 14;
const CHART_POINTS = 60;

const relative = (ms: number) => time(new Date(ms), TimestampStyles.RelativeTime);

/** One line per scheduled job: its cron, last run and result, next run. */
function jobLine(job: JobStatus): string {
  const last = job.lastRun
    ? `last ${job.lastRun.outcome} ${relative(job.lastRun.finishedAt)}: ${job.lastRun.message.slice(0, 120)}`
    : 'not run yet';
  const next = job.nextRun ? `next ${relative(job.nextRun)}` : 'no next run';
  return `\`${job.name}\` (\`${job.cron}\`${job.running ? ', running' : ''}) · ${last} · ${next}`;
}

/** `/status`: is everything the dialogue needs there, and how busy is it. */
const status: Command<
  PortsOf<
    | 'config'
    | 'health'
    | 'personas'
    | 'memory'
    | 'limiter'
    | 'runner'
    | 'startedAt'
    | 'clock'
    | 'codex'
    | 'amendments'
    | 'scheduler'
    | 'tools'
    | 'architects'
  >
> = {
  data: new SlashCommandBuilder()
    .setName('status')
    .setContexts(InteractionContextType.Guild)
    .setDescription('Ollama, models, queue, threads, uptime and data sizes')
    .toJSON(),
  defer: 'ephemeral',
  async execute(interaction, ports) {
    const { config } = ports;
    // Where the host keeps Ollama and the data is the operator's business: architects only.
    const hostDetails = (await ports.architects.check(interaction)).ok;
    let health: OllamaHealth | undefined;
    let ollamaLine: string;
    try {
      health = await ports.health.ollama();
      ollamaLine = `✅ Ollama ${health.version}${hostDetails ? ` at ${config.ollamaHost}` : ''} · ${health.models.length} models`;
    } catch (error) {
      ollamaLine = `❌ ${hostDetails ? errorText(error) : errorText(error).replaceAll(config.ollamaHost, 'its address')}`;
    }
    const personaLines = ports
      .personas()
      .list()
      .map((p) => {
        const mark = health
          ? hasModel(health.models, p.model)
            ? '✅'
            : `❌ not pulled: \`ollama pull ${p.model}\``
          : '❔';
        return `${p.displayName}: \`${p.model}\` ${mark}`;
      });
    const [dataSize, checkpoints, state] = await Promise.all([
      ports.health.diskUsage(config.dataDir),
      ports.health.diskUsage(join(config.dataDir, 'checkpoints.sqlite')),
      ports.health.diskUsage(join(config.dataDir, 'state.sqlite')),
    ]);
    const memory = ports.memory.stats();
    const embedMissing =
      health && !hasModel(health.models, config.ollamaEmbedModel)
        ? ` · ❌ embedding model not pulled: \`ollama pull ${config.ollamaEmbedModel}\``
        : '';
    const memoryLine = `${memory.dialogues} dialogues remembered (${memory.pending} waiting to be embedded) · index ${formatBytes(memory.indexBytes)}, ${memory.vectors} vectors${embedMissing}`;
    const embed = new EmbedBuilder().setTitle('BAT OS status').addFields(
      { name: 'Ollama', value: ollamaLine.slice(0, 1024) },
      { name: 'Persona models', value: personaLines.join('\n').slice(0, 1024) || '—' },
      {
        name: 'Load',
        value: [
          `Model calls: ${ports.limiter.active} running, ${ports.limiter.waiting} queued (limit ${config.llmConcurrency})`,
          `Active threads: ${ports.runner.activeThreads.size}`,
        ].join('\n'),
      },
      { name: 'Uptime', value: duration(ports.clock.now() - ports.startedAt), inline: true },
      {
        name: 'Data',
        value: `${formatBytes(dataSize)}${hostDetails ? ` in ${config.dataDir}` : ''} (conversations ${formatBytes(checkpoints)}, state ${formatBytes(state)})`,
        inline: true,
      },
      { name: 'Codex', value: `v${ports.codex().data.version}`, inline: true },
      { name: 'Memory', value: memoryLine },
    );
    const paused = ports.amendments.pausedReason();
    const jobs = ports.scheduler.status();
    embed.addFields(
      {
        name: 'Autonomy',
        value: [
          paused ? `⏸️ Paused: ${paused}.` : '▶️ Running.',
          ...(jobs.length
            ? jobs.map(jobLine)
            : ['No scheduled jobs (the motivator runs when AUTONOMY_CRON is set).']),
        ]
          .join('\n')
          .slice(0, 1024),
      },
      { name: 'Tools', value: `${ports.tools.list().length} forged (\`/tools list\`)`, inline: true },
    );
    // The dissonance trend: each recent dialogue's final dissonance.
    const now = ports.clock.now();
    const points = ports.memory
      .between(now - CHART_DAYS * 86_400_000, now + 1)
      .flatMap((r) =>
        r.finalDissonance === null ? [] : [{ at: r.finishedAt, dissonance: r.finalDissonance }],
      )
      .slice(-CHART_POINTS);
    const chart = await dissonanceChartPng(points, config.highDissonance);
    if (chart) {
      embed.setImage('attachment://dissonance.png');
      await interaction.editReply({
        embeds: [embed],
        files: [new AttachmentBuilder(chart, { name: 'dissonance.png' })],
      });
      return;
    }
    embed.addFields({
      name: 'Dissonance trend',
      value: `Not enough dialogues in the last ${CHART_DAYS} days for a chart (${points.length}).`,
    });
    await interaction.editReply({ embeds: [embed] });
  },
};

export default status;
