/**
 * Run with `node --import tsx … <data dir> <codex path> <ollama url> <forge dir>`: the composed
 * runtime fine-tunes ROBIN with a trainer that never ends, printing `training <step>` once it
 * runs. A crash test kills this process mid-job.
 */
import { composeRuntime } from '../../../src/app/compose.ts';
import { loadConfig } from '../../../src/services/config.ts';
import { createSilentLogger } from '../../../src/services/logger.ts';
import { FAKE_TRAINER } from '../finetuneScripts.ts';

const [dataDir = '.', codexPath = '', ollama = '', forgeDir = ''] = process.argv.slice(2);
process.env.FAKE_TRAINER_MODE = 'hangs';
const runtime = await composeRuntime(
  loadConfig({
    DATA_DIR: dataDir,
    CODEX_PATH: codexPath,
    OLLAMA_HOST: ollama,
    FORGE_DIR: forgeDir,
    FINETUNE_COMMAND: FAKE_TRAINER,
    // The fake trainer takes its mode from the environment; the trainer gets only what FINETUNE_ENV adds.
    FINETUNE_ENV: 'FAKE_TRAINER_*',
    // An exam the rule can promote on, from 12 golden samples: else the job is refused before training.
    FINETUNE_HOLDOUT: '0.5',
    FINETUNE_PROMOTE_RULE: 'majority',
    LOG_LEVEL: 'silent',
  }),
  createSilentLogger(),
);
runtime.bus.subscribe('finetune_job', ({ job }) => {
  if (job.step) process.stdout.write(`training ${job.step}\n`);
});
const started = await runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'crash-test' });
if (!started.ok) throw new Error(started.reason);
await new Promise(() => undefined);
