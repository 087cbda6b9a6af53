import { EmbedBuilder, userMention } from 'discord.js';
import type {
  EvaluationReport,
  ExamPartResult,
  ExamSummary,
  FinetuneJob,
} from '../../services/finetune/finetuneStore.ts';
import { wilsonLowerBound, wilsonUpperBound } from '../../services/finetune/promotionRule.ts';
import { withoutHostDetails } from '../../shared/hostDetails.ts';

/**
 * A fine-tune job as Discord shows it: its log message, its decision card, `/finetune status`.
 * Whoever reads those channels sees what happened in words, never where the host keeps things:
 * the trainer's words, its log and the registration's summary go without addresses, absolute
 * paths and command lines (an architect gets them whole, privately: {@link jobDetail}).
 */

const STATE_LINE: Record<FinetuneJob['state'], string> = {
  running: '⏳ Running',
  awaiting_architect: '🧑‍⚖️ Better than the model in force: waiting for the architect',
  promoted: '✅ Swapped in: later turns use the new version',
  kept: '↩️ Not better: the model in force stays',
  discarded: '🗑️ Discarded by the architect',
  refused: '📏 Not trained: the exam is too small for any candidate to be promoted',
  failed: '❌ Failed: nothing was swapped',
};
const COLORS: Record<FinetuneJob['state'], number> = {
  running: 0x5865f2,
  awaiting_architect: 0xf1c40f,
  promoted: 0x2ecc71,
  kept: 0x95a5a6,
  discarded: 0x95a5a6,
  refused: 0xe67e22,
  failed: 0xe74c3c,
};

const percent = (share: number) => `${(share * 100).toFixed(0)}%`;

/** One row of the table: a part of the exam, its tally, its share and the share's 95% interval. */
function tableRow(label: string, part: ExamPartResult): string {
  const interval = `${wilsonLowerBound(part.score, part.prompts).toFixed(2)}–${wilsonUpperBound(part.score, part.prompts).toFixed(2)}`;
  return `${label.padEnd(8)} ${String(part.prompts).padStart(7)}  ${String(part.wins).padStart(3)}  ${String(part.ties).padStart(4)}  ${String(part.losses).padStart(4)}  ${percent(part.score).padStart(5)}  ${interval}`;
}

export function evaluationTable(evaluation: EvaluationReport): string {
  return [
    '```',
    'exam     prompts  won  tied  lost  score  95% interval',
    tableRow('own', evaluation),
    ...(evaluation.general?.prompts ? [tableRow('general', evaluation.general)] : []),
    `format kept: candidate ${evaluation.formatCandidate}/${evaluation.prompts}, in force ${evaluation.formatIncumbent}/${evaluation.prompts}`,
    '```',
    evaluation.verdict,
  ].join('\n');
}

/** A share of `n` prompts as a percentage and as prompts won, a tie counting half: `77.5% (15½ of 20)`. */
function promotable(share: number, n: number): string {
  const halves = Math.round(share * 2 * n);
  const won = `${Math.floor(halves / 2)}${halves % 2 ? '½' : ''}`;
  return `${Number((share * 100).toFixed(1))}% (${won} of ${n})`;
}

/**
 * The exam in a line: its size, its hash (the same hash, the same exam), what changed in it, and
 * the smallest share of its held-out prompts the rule promotes.
 */
export function examLine(exam: ExamSummary): string {
  const changes = [
    ...(exam.appended ? [`${exam.appended} added`] : []),
    ...(exam.withdrawn ? [`${exam.withdrawn} withdrawn`] : []),
  ];
  const least =
    exam.smallestShare === undefined
      ? `no share can be promoted: ${exam.rule} needs ${exam.fewest} held-out prompts or more`
      : `smallest promotable share ${promotable(exam.smallestShare, exam.prompts)} (${exam.rule})`;
  return `${exam.prompts} held-out + ${exam.general} general prompts${changes.length ? ` (${changes.join(', ')})` : ''} · \`${exam.hash.slice(0, 12)}\` · ${least}`;
}

/** What a forget did to a job, and what is left to do about it. */
function taintLine(job: FinetuneJob, lines: number): string {
  const what = `${lines} line${lines === 1 ? '' : 's'} of its dataset, hold-out and exam came from dialogues forgotten since: they are gone from its files, but the model it trained learned from them.`;
  if (job.state === 'promoted')
    return `${what} An architect can roll ${job.persona} back: \`/finetune rollback persona:${job.persona}\`.`;
  if (job.state === 'running' || job.state === 'awaiting_architect')
    return `${what} It is not promoted without an architect.`;
  return what;
}

export function jobEmbed(job: FinetuneJob): EmbedBuilder {
  const embed = new EmbedBuilder()
    .setColor(COLORS[job.state])
    .setTitle(`🧠 Fine-tune ${job.id}: ${job.persona}`)
    .setDescription(
      withoutHostDetails(
        `${STATE_LINE[job.state]}${job.error ? `\n${job.error}` : ''}${job.note ? `\n${job.note}` : ''}`,
      ).slice(0, 4096),
    )
    .addFields(
      {
        name: 'Base',
        value: `\`${withoutHostDetails(job.base)}\` → Ollama \`${job.fromModel}\``.slice(0, 1024),
        inline: false,
      },
      {
        name: 'Dataset',
        value:
          job.samples === undefined
            ? 'being frozen…'
            : `${job.samples} trained on (${job.anchor ?? 0} anchor) · ${job.holdout ?? 0} held out · \`${job.datasetHash?.slice(0, 12)}\``,
      },
    );
  if (job.exam) embed.addFields({ name: 'Exam', value: examLine(job.exam).slice(0, 1024) });
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
    embed.addFields({
      name: 'Registered',
      value: withoutHostDetails(job.registration.summary).slice(0, 1024),
    });
  if (job.evaluation)
    embed.addFields({
      name: 'Evaluation (pairwise, both orders)',
      value: evaluationTable(job.evaluation).slice(0, 1024),
    });
  if (job.logTail)
    embed.addFields({
      name: 'The trainer’s last words',
      value: `\`\`\`\n${withoutHostDetails(job.logTail).slice(-900)}\n\`\`\``,
    });
  if (job.tainted) embed.addFields({ name: '⚠️ Tainted', value: taintLine(job, job.tainted.lines) });
  if (job.decidedBy && job.decidedBy !== 'system')
    embed.addFields({ name: 'Decided by', value: userMention(job.decidedBy), inline: true });
  return embed.setFooter({
    text: `asked by ${job.requestedBy === 'system' ? 'the schedule' : 'an architect'} · stage ${job.stage}`,
  });
}

/**
 * What the job's public message leaves out, for an architect privately: the failure's whole
 * reason and the trainer's last lines as written (paths, the command line). Undefined when the
 * public message left nothing out.
 */
export function jobDetail(job: FinetuneJob): string | undefined {
  const leftOut = (text: string | undefined) =>
    text !== undefined && withoutHostDetails(text) !== text ? text : undefined;
  // A job stored before errors had public words keeps its whole reason in `error`.
  const reason = job.errorDetail ?? leftOut(job.error);
  const registration = leftOut(job.registration?.summary);
  const tail = leftOut(job.logTail);
  if (!reason && !registration && !tail) return undefined;
  return [
    ...(reason ? [reason] : []),
    ...(registration ? [`Registered: ${registration}`] : []),
    ...(tail ? [`The trainer's last words:\n\`\`\`\n${tail.slice(-1500)}\n\`\`\``] : []),
  ].join('\n');
}
