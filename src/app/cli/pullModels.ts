import { parseArgs } from 'node:util';
import type { CodexData } from '../../services/codex/codexSchema.ts';
import { loadCodex } from '../../services/codex/loadCodex.ts';
import { type Config, loadConfig, loadDotEnv } from '../../services/config.ts';
import { findAppError } from '../../services/errors.ts';
import {
  checkOllama,
  hasModel,
  type PullProgress,
  pullOllamaModel,
} from '../../services/llm/ollamaModels.ts';

const USAGE = `Usage: npm run models:pull

Pulls into Ollama (OLLAMA_HOST) every model the bot needs and it does not have yet: each persona's
model in the codex (CODEX_PATH), the judge's model of its [curation] table, and the embedding model
(EMBED_MODEL). Models served by an OpenAI-compatible server are left to it. compose.yaml runs this
once before the bot starts.`;

/** The models Ollama must have: the codex's (personas, the judge) and the embedding model, each once. */
export function modelsToPull(codex: CodexData, config: Config): string[] {
  const models: string[] = [];
  const servedByOllama = (provider: string | undefined) => (provider ?? config.llmProvider) === 'ollama';
  for (const persona of Object.values(codex.personas)) {
    if (servedByOllama(persona.provider)) models.push(persona.model);
  }
  const judge = codex.personas[codex.curation.judge];
  if (codex.curation.model && servedByOllama(judge?.provider)) models.push(codex.curation.model);
  if (config.embedProvider === 'ollama') models.push(config.embedModel);
  return models.filter((model, i) => models.findIndex((other) => hasModel([other], model)) === i);
}

/** Progress for a person or a container log: each status once, a layer's bytes by tenths. */
function progressPrinter(model: string, write: (text: string) => void): (progress: PullProgress) => void {
  let last = '';
  return ({ status, total, completed }) => {
    const tenth = total && completed !== undefined ? Math.floor((completed / total) * 10) * 10 : undefined;
    const line = tenth === undefined ? status : `${status} ${tenth}%`;
    if (line === last || status === 'success') return;
    last = line;
    write(`${model}: ${line}\n`);
  };
}

async function main(argv = process.argv.slice(2)): Promise<number> {
  try {
    const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  let config: Config;
  let wanted: string[];
  try {
    loadDotEnv();
    config = loadConfig();
    wanted = modelsToPull((await loadCodex(config.codexPath)).data, config);
  } catch (error) {
    process.stderr.write(`error: ${findAppError(error)?.message ?? String(error)}\n`);
    return 2;
  }
  if (wanted.length === 0) {
    process.stdout.write('Nothing to pull: every model is served by the OpenAI-compatible server.\n');
    return 0;
  }
  try {
    const { models: present } = await checkOllama(config.ollamaHost, []);
    for (const model of wanted) {
      if (hasModel(present, model)) {
        process.stdout.write(`${model}: already pulled\n`);
        continue;
      }
      process.stdout.write(`${model}: pulling from Ollama's library (the first time takes a while)\n`);
      await pullOllamaModel(
        config.ollamaHost,
        model,
        progressPrinter(model, (text) => process.stdout.write(text)),
      );
      process.stdout.write(`${model}: pulled\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`error: ${findAppError(error)?.message ?? String(error)}\n`);
    return 1;
  }
}

process.exit(await main());
