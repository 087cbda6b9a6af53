import { join } from 'node:path';
import {
  AttachmentBuilder,
  EmbedBuilder,
  InteractionContextType,
  SlashCommandBuilder,
  TimestampStyles,
  time,
} from 'discord.js';
import type { Command, PortsOf } from '../src/bot/interactions/command.ts';
import { dissonanceChartPng, errorText, operatorText } from '../src/bot/kit.ts';
import type { Curation } from '../src/services/curation/curation.ts';
import type { LlmProvider } from '../src/services/llm/chatModel.ts';
import type { JobStatus } from '../src/services/scheduler.ts';
import { withoutHostDetails } from '../src/shared/hostDetails.ts';
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

/**
 * One line per scheduled job: its cron, last run and result, next run. A failed run's words may
 * name the host's addresses and paths: only an architect reads them whole.
 */
function jobLine(job: JobStatus, hostDetails: boolean): string {
  // Of several processes, one runs each job: this one's last and next ticks say nothing of it.
  if (job.ledElsewhere) return `\`${job.name}\` (\`${job.cron}\`) · runs in another process`;
  const said = job.lastRun
    ? hostDetails
      ? job.lastRun.message
      : withoutHostDetails(job.lastRun.message)
    : '';
  const last = job.lastRun
    ? `last ${job.lastRun.outcome} ${relative(job.lastRun.finishedAt)}: ${said.slice(0, 120)}`
    : 'not run yet';
  const next = job.nextRun ? `next ${relative(job.nextRun)}` : 'no next run';
  return `\`${job.name}\` (\`${job.cron}\`${job.running ? ', running' : ''}) · ${last} · ${next}`;
}

/** Each persona's golden set and its anchor: `BRICK 42 (anchor 42/50)`. */
function goldenLine(sizes: Awaited<ReturnType<Curation['sizes']>>): string {
  if (sizes.length === 0) return 'none yet';
  return sizes
    .map(
      (s) =>
        `${s.persona} ${s.samples}${s.anchor ? ` (anchor ${s.anchor}${s.frozen ? ', frozen' : ''})` : ''}`,
    )
    .join(' · ');
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
    | 'curation'
    | 'fineTuner'
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
    const servers = await ports.health.models();
    const serverLines = servers.map((server) => {
      const name = server.provider === 'ollama' ? 'Ollama' : 'OpenAI-compatible server';
      const where = hostDetails ? ` at ${server.address}` : '';
      if (server.ok) {
        return `✅ ${name}${server.version ? ` ${server.version}` : ''}${where} · ${server.models.length} models`;
      }
      return `❌ ${hostDetails ? operatorText(server.error) : errorText(server.error)}`;
    });
    const listed = (provider: LlmProvider) => {
      const server = servers.find((s) => s.provider === provider);
      return server?.ok ? server.models : undefined;
    };
    const missingHint = (provider: LlmProvider, model: string) =>
      provider === 'ollama' ? `❌ not pulled: \`ollama pull ${model}\`` : '❌ not served by the server';
    const personaLines = ports
      .personas()
      .list()
      .map((p) => {
        const model = ports.fineTuner.activeModel(p.id) ?? p.model;
        const provider = ports.health.providerOf(p.id);
        const models = listed(provider);
        const mark = models
          ? ports.health.hasModel(provider, models, model)
            ? '✅'
            : missingHint(provider, model)
          : '❔';
        return `${p.displayName}: \`${model}\`${model !== p.model ? ` (fine-tuned from \`${p.model}\`)` : ''} ${mark}`;
      });
    const [dataSize, checkpoints, state] = await Promise.all([
      ports.health.diskUsage(config.dataDir),
      ports.health.diskUsage(join(config.dataDir, 'checkpoints.sqlite')),
      ports.health.diskUsage(join(config.dataDir, 'state.sqlite')),
    ]);
    const memory = await ports.memory.stats();
    const embedModels = listed(config.embedProvider);
    const embedMissing =
      embedModels && !ports.health.hasModel(config.embedProvider, embedModels, config.embedModel)
        ? ` · embedding model ${missingHint(config.embedProvider, config.embedModel)}`
        : '';
    const memoryLine = `${memory.dialogues} dialogues remembered (${memory.pending} waiting to be embedded) · index ${formatBytes(memory.indexBytes)}, ${memory.vectors} vectors${embedMissing}`;
    const embed = new EmbedBuilder().setTitle('BAT OS status').addFields(
      { name: 'Models served by', value: serverLines.join('\n').slice(0, 1024) || '—' },
      { name: 'Persona models', value: personaLines.join('\n').slice(0, 1024) || '—' },
      {
        name: 'Load',
        value: [
          `Model calls: ${ports.limiter.active} running, ${ports.limiter.waiting} queued (limit ${config.llmConcurrency}${servers.length > 1 ? ` on each of ${servers.length} model servers` : ''})`,
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
    const paused = await ports.amendments.pausedReason();
    const jobs = ports.scheduler.status();
    embed.addFields(
      {
        name: 'Autonomy',
        value: [
          paused ? `⏸️ Paused: ${paused}.` : '▶️ Running.',
          ...(jobs.length ? jobs.map((job) => jobLine(job, hostDetails)) : ['No scheduled jobs.']),
        ]
          .join('\n')
          .slice(0, 1024),
      },
      { name: 'Tools', value: `${ports.tools.list().length} forged (\`/tools list\`)`, inline: true },
      { name: 'Golden datasets', value: goldenLine(await ports.curation.sizes()), inline: true },
    );
    // The dissonance trend: each recent dialogue's final dissonance.
    const now = ports.clock.now();
    const points = (await ports.memory.between(now - CHART_DAYS * 86_400_000, now + 1))
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
