import { EmbedBuilder, userMention } from 'discord.js';
import type { EvaluationReport, FinetuneJob } from '../../services/finetune/finetuneStore.ts';

/** A fine-tune job as Discord shows it: its log message, its decision card, `/finetune status`. */

const STATE_LINE: Record<FinetuneJob['state'], string> = {
  running: '⏳ Running',
  awaiting_architect: '🧑‍⚖️ Better than the model in force: waiting for the architect',
  promoted: '✅ Swapped in: later turns use the new version',
  kept: '↩️ Not better: the model in force stays',
  discarded: '🗑️ Discarded by the architect',
  failed: '❌ Failed: nothing was swapped',
};
const COLORS: Record<FinetuneJob['state'], number> = {
  running: 0x5865f2,
  awaiting_architect: 0xf1c40f,
  promoted: 0x2ecc71,
  kept: 0x95a5a6,
  discarded: 0x95a5a6,
  failed: 0xe74c3c,
};

export function evaluationTable(evaluation: EvaluationReport): string {
  return [
    '```',
    `prompts  won  tied  lost  score  lower95`,
    `${String(evaluation.prompts).padStart(7)}  ${String(evaluation.wins).padStart(3)}  ${String(evaluation.ties).padStart(4)}  ${String(evaluation.losses).padStart(4)}  ${(evaluation.score * 100).toFixed(0).padStart(4)}%  ${evaluation.lowerBound.toFixed(2).padStart(7)}`,
    `format kept: candidate ${evaluation.formatCandidate}/${evaluation.prompts}, in force ${evaluation.formatIncumbent}/${evaluation.prompts}`,
    '```',
    evaluation.verdict,
  ].join('\n');
}

export function jobEmbed(job: FinetuneJob): EmbedBuilder {
  const embed = new EmbedBuilder()
    .setColor(COLORS[job.state])
    .setTitle(`🧠 Fine-tune ${job.id}: ${job.persona}`)
    .setDescription(`${STATE_LINE[job.state]}${job.error ? `\n${job.error}` : ''}`.slice(0, 4096))
    .addFields(
      { name: 'Base', value: `\`${job.base}\` → Ollama \`${job.fromModel}\``.slice(0, 1024), inline: false },
      {
        name: 'Dataset',
        value:
          job.samples === undefined
            ? 'being frozen…'
            : `${job.samples} trained on (${job.anchor ?? 0} anchor) · ${job.holdout ?? 0} held out · \`${job.datasetHash?.slice(0, 12)}\``,
      },
    );
  if (job.totalSteps !== undefined || job.step !== undefined) {
    const loss = job.losses.at(-1)?.[1] ?? job.finalLoss;
    embed.addFields({
      name: 'Training',
      value: `step ${job.step ?? 0}/${job.totalSteps ?? '?'}${loss !== undefined ? ` · loss ${loss.toFixed(3)}` : ''}`,
      inline: true,
    });
  }
  if (job.candidate)
    embed.addFields({
      name: 'Candidate',
      value: `\`${job.candidate}\` (version ${job.version})`,
      inline: true,
    });
  if (job.registration)
    embed.addFields({ name: 'Registered', value: job.registration.summary.slice(0, 1024) });
  if (job.evaluation)
    embed.addFields({
      name: 'Evaluation (pairwise, both orders)',
      value: evaluationTable(job.evaluation).slice(0, 1024),
    });
  if (job.logTail)
    embed.addFields({
      name: 'The trainer’s last words',
      value: `\`\`\`\n${job.logTail.slice(-900)}\n\`\`\``,
    });
  if (job.decidedBy && job.decidedBy !== 'system')
    embed.addFields({ name: 'Decided by', value: userMention(job.decidedBy), inline: true });
  return embed.setFooter({
    text: `asked by ${job.requestedBy === 'system' ? 'the schedule' : 'an architect'} · stage ${job.stage}`,
  });
}
