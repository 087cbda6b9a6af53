#!/usr/bin/env node
/**
 * A stand-in for forge/finetune/train.py that speaks the same contract, for the bot's tests.
 *
 *   node tests/support/fakeTrainer.mjs --dataset <train.jsonl> --base <id> --output <dir>
 *        [--export adapter|merged|both] [--config <json file | inline json>] [--seed N]
 *
 * stdout: JSON events, one per line (start, progress, done | error); exit 0 after done, 1 after
 * an error event, 2 for a usage error. `--export` (default both) says what it writes: the adapter
 * in `<output>/` (`adapter_dir`), a small merged model in `<output>/merged/` (`merged_dir`:
 * config.json, tokenizer files, two safetensors shards and their index). Behaviour comes from the
 * environment:
 *
 * - `FAKE_TRAINER_MODE`: `ok` (default) | `fails` | `hangs` | `garbage` | `crash` |
 *   `merged-outside` | `adapter-outside` (reports that folder outside `--output`, against the contract) |
 *   `adapter-link` (adapter_dir is a symbolic link inside `--output` to a folder outside it) |
 *   `adapter-file-link` (adapter_model.safetensors is a link to a file outside `--output`) |
 *   `merged-file-link` (a merged shard is a link to a file outside `--output`) |
 *   `flood` (first prints one line of `FAKE_TRAINER_FLOOD_MB` megabytes, default 100, in 1 MB
 *   writes, then runs as `ok`) |
 *   `waits` (after its first progress line, waits until `<output>/release` exists, then runs as `ok`)
 * - `FAKE_TRAINER_STEPS`: progress lines in a full run (default 5)
 * - `FAKE_TRAINER_DELAY_MS`: pause before each line (default 0)
 *
 * It records what it was given in `<output>/fake-trainer.json` (argv, dataset line count, the
 * parsed config, the names in its environment) before it prints anything, so a test can assert
 * on the call.
 */
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const MODES = [
  'ok',
  'fails',
  'hangs',
  'garbage',
  'crash',
  'merged-outside',
  'adapter-outside',
  'adapter-link',
  'adapter-file-link',
  'merged-file-link',
  'flood',
  'waits',
];
const EXPORTS = ['adapter', 'merged', 'both'];
const CONFIG_KEYS = [
  'max_steps',
  'epochs',
  'learning_rate',
  'per_device_train_batch_size',
  'gradient_accumulation_steps',
  'warmup_steps',
  'weight_decay',
  'lr_scheduler_type',
  'lora_r',
  'lora_alpha',
  'lora_dropout',
  'target_modules',
  'max_seq_length',
  'load_in_4bit',
  'seed',
  'backend',
];
const VALUE_FLAGS = ['--dataset', '--base', '--output', '--config', '--seed', '--export'];
const DEFAULT_TARGET_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

class UsageError extends Error {}

/**
 * Writes all of `data` to stdout synchronously, so no line is lost when the process exits right
 * after; a pipe the reader has not emptied yet (EAGAIN) is waited for.
 */
function writeAll(data) {
  const bytes = Buffer.from(data);
  for (let offset = 0; offset < bytes.length; ) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

function line(text) {
  writeAll(`${text}\n`);
}

function emit(event, fields = {}) {
  line(JSON.stringify({ event, ...fields }));
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (!VALUE_FLAGS.includes(flag)) throw new UsageError(`unrecognized argument: ${flag}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    args[flag.slice(2)] = value;
    i += 1;
  }
  const missing = ['dataset', 'base', 'output'].filter((name) => !args[name]).map((name) => `--${name}`);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(', ')}`);
  if (args.seed !== undefined && !/^\d+$/.test(args.seed))
    throw new UsageError('--seed must be an integer >= 0');
  args.export ??= 'both';
  if (!EXPORTS.includes(args.export)) throw new UsageError(`--export must be one of ${EXPORTS.join(', ')}`);
  return args;
}

function parseConfig(spec) {
  if (spec === undefined) return {};
  let text = spec;
  if (!spec.trimStart().startsWith('{')) {
    try {
      text = readFileSync(spec, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read config file ${spec}: ${error.code ?? error.message}`);
    }
  }
  let config;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config is not valid JSON: ${error.message}`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new UsageError('config must be a JSON object');
  }
  const unknown = Object.keys(config).filter((key) => !CONFIG_KEYS.includes(key));
  if (unknown.length > 0) throw new UsageError(`unknown config key(s): ${unknown.join(', ')}`);
  return config;
}

function envInteger(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new UsageError(`${name} must be an integer >= ${min}`);
  return Number(raw);
}

function writeFileAtomic(path, data) {
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, data);
  renameSync(temp, path);
}

/** A small valid safetensors file: u64 LE header length, JSON header (space-padded to 8 bytes), data. */
function safetensors(tensors, dtype = 'F32') {
  const header = { __metadata__: { format: 'pt' } };
  const chunks = [];
  let offset = 0;
  const width = dtype === 'F16' ? 2 : 4;
  for (const [name, shape] of tensors) {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = Buffer.alloc(count * width);
    for (let i = 0; i < count; i += 1) {
      // F16 as raw half-precision bits of small values (0x2000–0x2e00: about 0.008 to 0.1).
      if (width === 2) data.writeUInt16LE(0x2000 + (i % 7) * 0x200, i * 2);
      else data.writeFloatLE((i % 7) / 100, i * 4);
    }
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.length] };
    offset += data.length;
    chunks.push(data);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json), ...chunks]);
}

function writeAdapter(output, base, config) {
  const r = config.lora_r ?? 16;
  writeFileAtomic(
    join(output, 'adapter_model.safetensors'),
    safetensors([
      ['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', [r, 8]],
      ['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', [8, r]],
    ]),
  );
  const adapterConfig = {
    base_model_name_or_path: base,
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    r,
    lora_alpha: config.lora_alpha ?? 16,
    lora_dropout: config.lora_dropout ?? 0,
    target_modules: config.target_modules ?? DEFAULT_TARGET_MODULES,
    bias: 'none',
    inference_mode: true,
  };
  writeFileAtomic(join(output, 'adapter_config.json'), `${JSON.stringify(adapterConfig, null, 2)}\n`);
}

/**
 * The adapter merged into the base, as `save_pretrained(safe_serialization=True)` writes it: a
 * Hugging Face folder with config.json, the tokenizer, fp16 shards and their index.
 */
function writeMerged(dir, base) {
  mkdirSync(dir, { recursive: true });
  const json = (name, value) => writeFileAtomic(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
  json('config.json', {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 8,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    vocab_size: 16,
    torch_dtype: 'float16',
    _name_or_path: base,
  });
  json('generation_config.json', { bos_token_id: 1, eos_token_id: [2, 3] });
  json('tokenizer.json', { version: '1.0', model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [] } });
  json('tokenizer_config.json', { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' });
  json('special_tokens_map.json', {
    bos_token: '<|begin_of_text|>',
    eos_token: '<|eot_id|>',
    pad_token: '<|eot_id|>',
  });
  const shards = [
    ['model-00001-of-00002.safetensors', 'model.layers.0.self_attn.q_proj.weight', [64, 8]],
    ['model-00002-of-00002.safetensors', 'model.layers.1.self_attn.q_proj.weight', [96, 8]],
  ];
  const weightMap = {};
  for (const [file, tensor, shape] of shards) {
    writeFileAtomic(join(dir, file), safetensors([[tensor, shape]], 'F16'));
    weightMap[tensor] = file;
  }
  json('model.safetensors.index.json', {
    metadata: { total_size: (64 + 96) * 8 * 2 },
    weight_map: weightMap,
  });
}

/** One line of `megabytes` MB, written a megabyte at a time, as a runaway print would. */
function flood(megabytes) {
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  for (let i = 0; i < megabytes; i += 1) writeAll(chunk);
  writeAll('\n');
}

/** Resolves once `path` exists: the test lets the training go on. */
async function released(path) {
  while (!existsSync(path)) await sleep(20);
}

/**
 * The link modes break the contract on purpose: a link inside `--output` that leads out of it.
 * Returns the adapter folder to report instead of the real one, if the mode says so.
 */
function plantLinks(mode, output, adapterDir, mergedDir) {
  if (!mode.endsWith('-link')) return undefined;
  const elsewhere = resolve(output, '..', 'elsewhere');
  mkdirSync(elsewhere, { recursive: true });
  const relink = (target, path) => {
    rmSync(path, { force: true });
    symlinkSync(target, path);
  };
  if (mode === 'adapter-link') {
    writeFileAtomic(
      join(elsewhere, 'adapter_model.safetensors'),
      readFileSync(join(adapterDir, 'adapter_model.safetensors')),
    );
    writeFileAtomic(
      join(elsewhere, 'adapter_config.json'),
      readFileSync(join(adapterDir, 'adapter_config.json')),
    );
    relink(elsewhere, join(output, 'linked'));
    return join(output, 'linked');
  }
  if (mode === 'adapter-file-link') {
    const outside = join(elsewhere, 'adapter_model.safetensors');
    writeFileAtomic(outside, readFileSync(join(adapterDir, 'adapter_model.safetensors')));
    relink(outside, join(adapterDir, 'adapter_model.safetensors'));
  }
  if (mode === 'merged-file-link') {
    const shard = 'model-00002-of-00002.safetensors';
    writeFileAtomic(join(elsewhere, shard), readFileSync(join(mergedDir, shard)));
    relink(join(elsewhere, shard), join(mergedDir, shard));
  }
  return undefined;
}

async function main() {
  const startedAt = performance.now();
  const args = parseArgs(process.argv.slice(2));
  const config = parseConfig(args.config);
  const mode = process.env.FAKE_TRAINER_MODE || 'ok';
  if (!MODES.includes(mode)) throw new UsageError(`FAKE_TRAINER_MODE must be one of ${MODES.join(', ')}`);
  const steps = envInteger('FAKE_TRAINER_STEPS', 5, 1);
  const delayMs = envInteger('FAKE_TRAINER_DELAY_MS', 0, 0);

  if (!existsSync(args.dataset)) {
    emit('error', { message: `dataset not found: ${args.dataset}` });
    return 1;
  }
  const samples = readFileSync(args.dataset, 'utf8')
    .split('\n')
    .filter((text) => text.trim() !== '').length;
  const output = resolve(args.output);
  mkdirSync(output, { recursive: true });
  writeFileAtomic(
    join(output, 'fake-trainer.json'),
    `${JSON.stringify(
      {
        argv: process.argv.slice(2),
        dataset: args.dataset,
        dataset_lines: samples,
        base: args.base,
        output: args.output,
        export: args.export,
        config,
        seed: args.seed === undefined ? (config.seed ?? 3407) : Number(args.seed),
        mode,
        steps,
        env: Object.keys(process.env).sort(),
      },
      null,
      2,
    )}\n`,
  );

  const learningRate = config.learning_rate ?? 2e-4;
  /** Pauses, then prints; a function is called after the pause so elapsed_s includes it. */
  const say = async (text) => {
    if (delayMs > 0) await sleep(delayMs);
    line(typeof text === 'function' ? text() : text);
  };
  const progress = (step) => ({
    event: 'progress',
    step,
    total_steps: steps,
    loss: Number((2.5 * 0.8 ** step).toFixed(6)),
    learning_rate: Number((learningRate * (1 - (step - 1) / steps)).toExponential(6)),
    elapsed_s: Number(((performance.now() - startedAt) / 1000).toFixed(3)),
  });

  if (mode === 'flood') flood(envInteger('FAKE_TRAINER_FLOOD_MB', 100, 1));
  await say(JSON.stringify({ event: 'start', total_steps: steps, backend: 'unsloth', samples }));
  if (mode === 'hangs') {
    await say(() => JSON.stringify(progress(1)));
    setInterval(() => {}, 60_000);
    return new Promise(() => {});
  }
  if (mode === 'crash') {
    await say(() => JSON.stringify(progress(1)));
    process.exit(137);
  }
  if (mode === 'fails') {
    const reached = Math.max(1, Math.floor(steps / 2));
    for (let step = 1; step <= reached; step += 1) await say(() => JSON.stringify(progress(step)));
    await say(
      JSON.stringify({
        event: 'error',
        message: 'CUDA out of memory while training: lower per_device_train_batch_size or max_seq_length',
      }),
    );
    return 1;
  }
  const noise = [
    '🦥 Unsloth: Will patch your computer to enable 2x faster free finetuning.',
    '{"event":"progress","step":',
    '{"event":"progress","step":"two","loss":"low"}',
    '[1, 2, 3]',
    'null',
    '{"no_event":true}',
    '',
  ];
  for (let step = 1; step <= steps; step += 1) {
    if (mode === 'garbage') await say(noise[(step - 1) % noise.length]);
    await say(() => JSON.stringify(progress(step)));
    if (mode === 'waits' && step === 1) await released(join(output, 'release'));
  }
  if (mode === 'garbage') await say('  0%|          | 0/5 [00:00<?, ?it/s]');
  // The outside modes break the contract on purpose: the bot must refuse folders outside --output.
  const adapterDir = mode === 'adapter-outside' ? resolve(output, '..', 'adapter-elsewhere') : output;
  const mergedDir =
    mode === 'merged-outside' ? resolve(output, '..', 'merged-elsewhere') : join(output, 'merged');
  mkdirSync(adapterDir, { recursive: true });
  if (args.export !== 'merged') writeAdapter(adapterDir, args.base, config);
  if (args.export !== 'adapter') writeMerged(mergedDir, args.base);
  const linked = plantLinks(mode, output, adapterDir, mergedDir);
  await say(
    JSON.stringify({
      event: 'done',
      adapter_dir: linked ?? adapterDir,
      ...(args.export !== 'adapter' ? { merged_dir: mergedDir } : {}),
      final_loss: progress(steps).loss,
      steps,
    }),
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    const usage = error instanceof UsageError;
    emit('error', { message: usage ? `usage: ${error.message}` : `fake trainer failed: ${error.message}` });
    process.exitCode = usage ? 2 : 1;
  },
);
