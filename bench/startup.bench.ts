/**
 * Start-up and idle memory against the floor (issue "Endurance and speed", item 6): from launch to
 * the gateway IDENTIFY (op 2, as the Discord emulator received it), the CPU spent by then, and the
 * resident memory after idling, for the `npm start` entry, the floor client, the old entry through
 * tsx, and `npm start` itself with its npm wrapper. Runs alternate (A B C D A B C D …) so that a
 * drift of the shared machine falls on every command alike; the ratios are taken run by run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiscordEmulator } from '../tests/support/discordEmulator.ts';
import { EMBED_MODEL, emulatorEnv, REPO_ROOT, TEST_MODELS, tempDir } from '../tests/support/fixtures.ts';
import { OllamaEmulator } from '../tests/support/ollamaEmulator.ts';
import { launch, sampleTree, stopTree, type TreeSample } from './support/processTree.ts';
import { mark, mb, median, ms, ratio } from './support/stats.ts';

const RUNS = 5;
const WARMUP = 1;
const IDLE_MS = 8_000;

interface Variant {
  name: string;
  command: string[];
}

interface Run {
  identifyMs: number;
  /** CPU of the whole tree when IDENTIFY arrived. */
  cpuAtIdentifyMs: number;
  /** After idling: the node process that runs the bot, and the tree with its wrappers. */
  idle: TreeSample;
}

/** An npm script's command line as it would run without npm (`node …` → this node). */
export function scriptCommand(script: string): string[] {
  const scripts = (
    JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  const line = scripts[script];
  if (!line) throw new Error(`package.json has no "${script}" script`);
  const [program, ...args] = line.split(/\s+/);
  if (program === 'node') return [process.execPath, ...args];
  return [join(REPO_ROOT, 'node_modules', '.bin', program!), ...args];
}

async function measure(
  variant: Variant,
  discord: DiscordEmulator,
  env: Record<string, string>,
): Promise<Run> {
  const before = discord.gatewayReceived.filter((p) => p.op === 2).length;
  const launchedAt = Date.now();
  const child = launch(variant.command, env, REPO_ROOT);
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  try {
    let cpuAtIdentifyMs = 0;
    const identify = await discord.waitFor(() => {
      const received = discord.gatewayReceived.filter((p) => p.op === 2)[before];
      if (received) cpuAtIdentifyMs = sampleTree(child.pid!).cpuMs;
      if (child.exitCode !== null) throw new Error(`${variant.name} exited ${child.exitCode}: ${stderr}`);
      return received;
    }, 30_000);
    await sleep(IDLE_MS);
    return { identifyMs: identify.at - launchedAt, cpuAtIdentifyMs, idle: sampleTree(child.pid!) };
  } finally {
    await stopTree(child);
  }
}

export async function benchStartup(variants?: Variant[]): Promise<string> {
  const discord = await DiscordEmulator.start();
  const ollama = await OllamaEmulator.start({ models: [...Object.values(TEST_MODELS), EMBED_MODEL] });
  const dir = tempDir();
  const env = {
    ...emulatorEnv(discord, ollama, dir.path),
    FLOOR_MODELS: [TEST_MODELS.ALFRED, TEST_MODELS.BRICK, TEST_MODELS.ROBIN].join(','),
  };
  const all = variants ?? [
    { name: 'bot: `npm start`’s command (node, the build)', command: scriptCommand('start') },
    {
      name: 'floor: `node bench/floor/floorBot.mjs`',
      command: [process.execPath, 'bench/floor/floorBot.mjs'],
    },
    { name: 'before: `tsx src/app/main.ts`', command: scriptCommand('dev') },
    { name: '`npm start` (npm, then node)', command: ['npm', 'start', '--silent'] },
    {
      name: 'before: `npm start` was `npm run dev` (npm, tsx, node)',
      command: ['npm', 'run', 'dev', '--silent'],
    },
  ];
  const runs = new Map<string, Run[]>(all.map((v) => [v.name, []]));
  try {
    for (let round = 0; round < WARMUP + RUNS; round += 1) {
      for (const variant of all) {
        const run = await measure(variant, discord, env);
        process.stdout.write(
          `  ${variant.name}: IDENTIFY ${ms(run.identifyMs)}, CPU ${ms(run.cpuAtIdentifyMs)}, RSS ${mb(run.idle.largestRssBytes)} (tree ${mb(run.idle.rssBytes)}, ${run.idle.processes} processes)\n`,
        );
        if (round >= WARMUP) runs.get(variant.name)!.push(run);
      }
    }
  } finally {
    await discord.close();
    await ollama.close();
    dir.cleanup();
  }
  const medianOf = (name: string, pick: (run: Run) => number) => median(runs.get(name)!.map(pick));
  const rows = all.map(
    ({ name }) =>
      `| ${name} | ${ms(medianOf(name, (r) => r.identifyMs))} | ${ms(medianOf(name, (r) => r.cpuAtIdentifyMs))} | ${mb(medianOf(name, (r) => r.idle.largestRssBytes))} | ${mb(medianOf(name, (r) => r.idle.rssBytes))} |`,
  );
  /** `a` ÷ `b`, run by run (the runs of one round ran side by side in time), then the median. */
  const paired = (a: string, b: string, pick: (run: Run) => number) => {
    const bs = runs.get(b)!;
    return median(runs.get(a)!.map((run, i) => pick(run) / pick(bs[i]!)));
  };
  const [bot, floor, before] = all.map((v) => v.name) as [string, string, string];
  const identify = paired(bot, floor, (r) => r.identifyMs);
  const rss = paired(bot, floor, (r) => r.idle.largestRssBytes);
  return `## Start-up and idle memory

Each command started ${WARMUP} + ${RUNS} times against the Discord and Ollama emulators, the commands in turn (the first round not
counted), an empty data folder on the first start. Launch → IDENTIFY: from spawning the command to the gateway IDENTIFY
(op 2) as the Discord emulator received it. CPU: user + system time of every process of the command by then (from
\`/proc\`). Idle RSS: resident memory ${IDLE_MS / 1000} s after IDENTIFY, of the node process that runs the bot, and of all the
command's processes (npm and tsx start node beneath them). Medians.

| command | launch → IDENTIFY | CPU by then | idle RSS (bot's process) | idle RSS (all processes) |
|---|---|---|---|---|
${rows.join('\n')}

Bot ÷ floor, run by run, median: launch → IDENTIFY **${ratio(identify)}**, CPU **${ratio(paired(bot, floor, (r) => r.cpuAtIdentifyMs))}**, idle RSS **${ratio(rss)}**.
Bot ÷ before (tsx): launch → IDENTIFY **${ratio(paired(bot, before, (r) => r.identifyMs))}**, CPU **${ratio(paired(bot, before, (r) => r.cpuAtIdentifyMs))}**, idle RSS **${ratio(paired(bot, before, (r) => r.idle.largestRssBytes))}**.

Targets (set where the floor reached IDENTIFY in 0.34 s and idled at 64 MB): IDENTIFY ≤ 0.8 s, idle RSS ≤ 120 MB; as
ratios to the floor measured here, ≤ ${ratio(0.8 / 0.34)} ${mark(identify, 0.8 / 0.34)} and ≤ ${ratio(120 / 64)} ${mark(rss, 120 / 64)}.
`;
}
