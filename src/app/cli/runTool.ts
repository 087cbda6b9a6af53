import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Config, loadConfig, loadDotEnv } from '../../services/config.ts';
import { storeLocation } from '../../services/db/openStoreDatabase.ts';
import { findAppError } from '../../services/errors.ts';
import { createSilentLogger } from '../../services/logger.ts';
import { checkToolCode } from '../../services/tools/codeGate.ts';
import { createSandbox, describeFailureKind } from '../../services/tools/sandbox.ts';
import { type StoredTool, ToolRegistry } from '../../services/tools/toolRegistry.ts';
import { createToolService } from '../../services/tools/toolService.ts';
import { truncate } from '../../shared/text.ts';

const USAGE = `Runs a tool's run(input) in the sandbox (QuickJS, same deadline and memory limit as the bot)
and prints its JSON result; on an error, prints it and exits with 1.

  npm run tool -- <file.js> '<json input>'       a file that defines function run(input)
  npm run tool -- --name <tool> '<json input>'   a registered tool (FORGE_DIR), input checked
                                                 against its schema
  npm run tool -- list                           the registered tools (a file named list: ./list)

The input defaults to {}. The code must pass the same static gate as forged tools.`;

interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The registered tools the settings name: FORGE_DIR, or with DATABASE_URL the database. */
function openRegistry(config: Config): Promise<ToolRegistry> {
  return ToolRegistry.open({ forgeDir: resolve(config.forgeDir), location: storeLocation(config) });
}

/** `list`: every registered tool's newest version, a line each, and how to run one. */
async function listTools(config: Config, output: Output): Promise<number> {
  const forgeDir = resolve(config.forgeDir);
  // Listing writes nothing: a forge folder that is not there yet holds no tool.
  let tools: StoredTool[] = [];
  let where = forgeDir;
  if (config.databaseUrl || existsSync(forgeDir)) {
    const registry = await openRegistry(config);
    tools = registry.list();
    where = registry.dir;
    await registry.close();
  }
  if (tools.length === 0) {
    output.out(`No tools registered in ${where} yet: the personas forge them in a dialogue.\n`);
    return 0;
  }
  const width = Math.max(...tools.map((tool) => tool.manifest.name.length));
  for (const { manifest } of tools) {
    const where = manifest.guildId ? ` (server ${manifest.guildId} only)` : '';
    const description = truncate(manifest.description.replace(/\s+/g, ' '), 72);
    output.out(`${manifest.name.padEnd(width)}  v${manifest.version}  ${description}${where}\n`);
  }
  output.out(
    `${tools.length} ${tools.length === 1 ? 'tool' : 'tools'} in ${where}. Run one: npm run tool -- --name <tool> '<json input>'\n`,
  );
  return 0;
}

async function runToolCli(argv: string[], output: Output): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: 'string', short: 'n' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const name = typeof values.name === 'string' ? values.name : undefined;
  const [first, second] = positionals;
  if (!name && first === 'list' && positionals.length === 1 && !values.help) {
    loadDotEnv();
    return listTools(loadConfig(), output);
  }
  const file = name ? undefined : first;
  const inputText = (name ? first : second) ?? '{}';
  if (values.help || (!name && !file) || positionals.length > (name ? 1 : 2)) {
    output.err(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  let input: unknown;
  try {
    input = JSON.parse(inputText);
  } catch (error) {
    output.err(`error: the input is not JSON: ${(error as Error).message}\n`);
    return 1;
  }

  loadDotEnv();
  const config = loadConfig();
  const sandbox = createSandbox({
    limits: { timeoutMs: config.sandboxTimeoutMs, memoryBytes: config.sandboxMemoryMb * 1024 * 1024 },
    workers: 1,
  });
  try {
    if (name) {
      const registry = await openRegistry(config);
      const tools = createToolService({ registry, sandbox, logger: createSilentLogger() });
      const outcome = await tools.call(name, input).finally(() => registry.close());
      if (!outcome.ok) {
        output.err(`error: ${outcome.error}\n`);
        return 1;
      }
      output.out(`${JSON.stringify(outcome.result, null, 2)}\n`);
      return 0;
    }
    let code: string;
    try {
      code = readFileSync(file ?? '', 'utf8');
    } catch (error) {
      output.err(`error: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
      return 1;
    }
    const verdict = checkToolCode(code);
    if (!verdict.ok) {
      output.err(
        `error: the static gate refuses ${file}:\n${verdict.problems.map((p) => `  - ${p}`).join('\n')}\n`,
      );
      return 1;
    }
    const result = await sandbox.run(code, input);
    if (!result.ok) {
      output.err(
        `error: run(input) ${describeFailureKind(result.kind, sandbox.limits)}: ${result.message}\n`,
      );
      return 1;
    }
    output.out(`${JSON.stringify(result.value, null, 2)}\n`);
    return 0;
  } finally {
    await sandbox.close();
  }
}

try {
  process.exitCode = await runToolCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
} catch (error) {
  process.stderr.write(`error: ${findAppError(error)?.message ?? String(error)}\n`);
  process.exitCode = 1;
}
