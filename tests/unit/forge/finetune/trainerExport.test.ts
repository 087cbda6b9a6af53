/**
 * train.py end to end against recording stand-ins of torch, transformers, peft, unsloth and
 * bitsandbytes (tests/support/pystubs, first on PYTHONPATH so they shadow any real install). The
 * stand-ins take the real parameter names of the pinned versions and log every call to the file
 * PYSTUB_RECORD names; these tests read that log, the files written and the stdout events: the
 * export modes (adapter, merged, both), a PEFT run, a QLoRA run, an Unsloth run, integer LoRA
 * settings, the training prompt (as Ollama renders it) and --smoke.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempFolders } from '../../../support/fixtures.ts';

const TRAIN_PY = join(REPO_ROOT, 'forge/finetune/train.py');
const PYSTUBS = join(REPO_ROOT, 'tests/support/pystubs');
/** The stand-in tokenizer renders chat templates with jinja2, as transformers does. */
const NO_PYTHON_WITH_JINJA = spawnSync('python3', ['-c', 'import jinja2']).status !== 0;

type Json = Record<string, unknown>;
interface Call {
  call: string;
  args: Json;
}
interface Run {
  code: number | null;
  events: Json[];
  stderr: string;
  calls: Call[];
  callsText: string;
}

const folders = tempFolders();
afterEach(() => folders.cleanup());

function python(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const record = join(folders.folder(), 'calls.json');
  const child = spawn('python3', args, {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PYTHONPATH: PYSTUBS,
      PYTHONDONTWRITEBYTECODE: '1',
      PYSTUB_RECORD: record,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const callsText = existsSync(record) ? readFileSync(record, 'utf8') : '[]';
      const events = stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Json);
      resolve({ code, events, stderr, calls: JSON.parse(callsText) as Call[], callsText });
    });
  });
}

function train(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return python([TRAIN_PY, ...args], env);
}

/** A stand-in base folder (config.json, tokenizer_config.json with the family's HF template). */
async function base(family = 'llama3.1'): Promise<string> {
  const folder = join(folders.folder(), 'base');
  const made = await python([
    '-c',
    `import chat_fixtures; chat_fixtures.write_base(${JSON.stringify(folder)}, "${family}")`,
  ]);
  expect(made.code, made.stderr).toBe(0);
  return folder;
}

const turn = (role: string, content: string) => ({ role, content });
const CONVERSATIONS = [
  [turn('system', 'You are ROBIN.'), turn('user', 'Hello?'), turn('assistant', 'Hi there!')],
  [turn('user', 'One?'), turn('assistant', 'One.'), turn('user', 'Two?'), turn('assistant', 'Two.')],
];

function dataset(): string {
  const path = join(folders.folder(), 'train.jsonl');
  writeFileSync(path, `${CONVERSATIONS.map((messages) => JSON.stringify({ messages })).join('\n')}\n`);
  return path;
}

const named = (run: Run, name: string) => run.calls.filter((c) => c.call === name);
const one = (run: Run, name: string): Json => {
  const calls = named(run, name);
  expect(calls, `${name} called once`).toHaveLength(1);
  return calls[0]!.args;
};
/** The calls in order, without the many template renders and device queries. */
const sequence = (run: Run) =>
  run.calls
    .map((c) => c.call)
    .filter((c) => !/apply_chat_template|torch\.cuda|^import$|train_dataset/.test(c));

/** The JSON header of a safetensors file. */
function header(path: string): Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> {
  const bytes = readFileSync(path);
  const length = Number(bytes.readBigUInt64LE(0));
  const parsed = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
  delete parsed.__metadata__;
  return parsed;
}

/** The float16 values of one tensor. */
function float16Values(path: string, name: string): number[] {
  const bytes = readFileSync(path);
  const start = 8 + Number(bytes.readBigUInt64LE(0));
  const [from, to] = header(path)[name]!.data_offsets as [number, number];
  const values = [];
  for (let at = start + from; at < start + to; at += 2) {
    const bits = bytes.readUInt16LE(at);
    const exponent = (bits >> 10) & 0x1f;
    const value =
      (exponent === 0 ? (bits & 0x3ff) / 1024 : 1 + (bits & 0x3ff) / 1024) * 2 ** ((exponent || 1) - 15);
    values.push(bits & 0x8000 ? -value : value);
  }
  return values;
}

function expectMergedFolder(merged: string): void {
  const files = readdirSync(merged);
  expect(files).toEqual(expect.arrayContaining(['config.json', 'tokenizer_config.json', 'tokenizer.json']));
  const shards = files.filter((f) => f.endsWith('.safetensors'));
  expect(shards.length).toBeGreaterThan(0);
  const config = JSON.parse(readFileSync(join(merged, 'config.json'), 'utf8')) as Json;
  expect(config.dtype ?? config.torch_dtype).toBe('float16');
  for (const shard of shards) {
    const tensors = header(join(merged, shard));
    expect(Object.values(tensors).map((t) => t.dtype)).toEqual(Object.keys(tensors).map(() => 'F16'));
    expect(Object.keys(tensors).some((name) => name.includes('lora_'))).toBe(false);
  }
  // The tokenizer keeps the base's template; Ollama gets its own through the bot.
  expect(JSON.parse(readFileSync(join(merged, 'tokenizer_config.json'), 'utf8'))).toHaveProperty(
    'chat_template',
  );
}

/** What the model trains on: the prompt as Ollama's llama3.1 template renders it, no date header. */
const TRAINED_TEXTS = [
  '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are ROBIN.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nHello?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\nHi there!<|eot_id|>',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nOne?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\nOne.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nTwo?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\nTwo.<|eot_id|>',
];

const SLOW_MS = 60_000;

describe.skipIf(NO_PYTHON_WITH_JINJA)(
  'train.py end to end on recording stand-ins (needs python3 with jinja2)',
  () => {
    it(
      'trains with PEFT, saves the adapter, merges it and writes a float16 folder by default',
      async () => {
        const output = join(folders.folder(), 'out');
        const baseDir = await base();
        // JSON.stringify writes 8 and 32; the config must say 8.0 and 32.0 as some callers do.
        const config = JSON.stringify({ max_steps: 3, lora_r: 8, lora_alpha: 32 }).replace(
          /(\d)([,}])/g,
          '$1.0$2',
        );
        expect(config).toBe('{"max_steps":3.0,"lora_r":8.0,"lora_alpha":32.0}');
        const run = await train([
          '--dataset',
          dataset(),
          '--base',
          baseDir,
          '--output',
          output,
          '--config',
          config,
        ]);
        expect(run.code, run.stderr).toBe(0);

        // Only the stand-ins were imported, never a torch installed on the system.
        const imports = named(run, 'import').map((c) => c.args);
        expect(imports.map((i) => i.module).sort()).toEqual(['peft', 'torch', 'transformers']);
        for (const i of imports) expect(i.file).toContain(PYSTUBS);

        expect(run.events.map((e) => e.event)).toEqual(['start', 'progress', 'progress', 'progress', 'done']);
        expect(run.events[0]).toEqual({ event: 'start', total_steps: 3, backend: 'peft', samples: 2 });
        expect(run.events.at(-1)).toEqual({
          event: 'done',
          adapter_dir: output,
          merged_dir: join(output, 'merged'),
          final_loss: 1.024,
          steps: 3,
        });

        // Integer LoRA settings, whatever the JSON said: 32.0 reaches PEFT and the adapter as 32.
        expect(one(run, 'peft.LoraConfig')).toMatchObject({ r: 8, lora_alpha: 32, task_type: 'CAUSAL_LM' });
        expect(run.callsText).not.toMatch(/"lora_alpha": 32\.0|"r": 8\.0/);
        const adapterConfig = readFileSync(join(output, 'adapter_config.json'), 'utf8');
        expect(adapterConfig).toMatch(/"lora_alpha": 32,/);
        expect(adapterConfig).toMatch(/"r": 8,/);
        expect(Object.keys(header(join(output, 'adapter_model.safetensors')))).toEqual([
          expect.stringMatching(/lora_A/),
          expect.stringMatching(/lora_B/),
        ]);

        // LoRA on the full-precision base (no QLoRA by default), loaded with transformers 5's `dtype`.
        expect(one(run, 'transformers.AutoModelForCausalLM.from_pretrained')).toEqual({
          pretrained_model_name_or_path: baseDir,
          dtype: 'torch.float32',
        });
        expect(named(run, 'transformers.BitsAndBytesConfig')).toEqual([]);

        // The adapter first, then merge_and_unload, float16, save_pretrained(safe_serialization=True).
        expect(sequence(run).slice(-5)).toEqual([
          'peft.PeftModel.save_pretrained',
          'peft.PeftModel.merge_and_unload',
          'transformers.PreTrainedModel.to',
          'transformers.PreTrainedModel.save_pretrained',
          'transformers.PreTrainedTokenizerBase.save_pretrained',
        ]);
        expect(one(run, 'peft.PeftModel.save_pretrained')).toMatchObject({
          save_directory: output,
          safe_serialization: true,
        });
        expect(one(run, 'transformers.PreTrainedModel.to')).toEqual({
          self: 'model#1(merged)',
          args: ['torch.float16'],
        });
        expect(one(run, 'transformers.PreTrainedModel.save_pretrained')).toEqual({
          self: 'model#1(merged)',
          save_directory: join(output, 'merged'),
          safe_serialization: true,
          max_shard_size: '5GB',
        });
        expectMergedFolder(join(output, 'merged'));

        // The prompt is Ollama's: no "Cutting Knowledge Date" block, and only assistant turns trained.
        const [trained] = named(run, 'transformers.Trainer.train_dataset');
        expect(trained?.args.examples).toEqual([
          { text: TRAINED_TEXTS[0], trained: 'Hi there!<|eot_id|>' },
          { text: TRAINED_TEXTS[1], trained: 'One.<|eot_id|>Two.<|eot_id|>' },
        ]);
        expect(named(run, 'transformers.PreTrainedTokenizerBase.apply_chat_template')[0]?.args).toMatchObject(
          {
            tokenize: false,
            add_generation_prompt: false,
          },
        );
      },
      SLOW_MS,
    );

    it('writes only the adapter with --export adapter, and removes an earlier merged folder', async () => {
      const output = join(folders.folder(), 'out');
      mkdirSync(join(output, 'merged'), { recursive: true });
      writeFileSync(join(output, 'merged', 'model.safetensors'), 'stale');
      const config = JSON.stringify({ max_steps: 2 });
      const run = await train([
        ...['--dataset', dataset(), '--base', await base(), '--output', output],
        ...['--config', config, '--export', 'adapter'],
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.events.at(-1)).toEqual({ event: 'done', adapter_dir: output, final_loss: 1.28, steps: 2 });
      expect(readdirSync(output).sort()).toEqual([
        'README.md',
        'adapter_config.json',
        'adapter_model.safetensors',
      ]);
      expect(named(run, 'peft.PeftModel.merge_and_unload')).toEqual([]);
      expect(named(run, 'transformers.PreTrainedModel.save_pretrained')).toEqual([]);
    });

    it('writes the adapter and the merged folder with --export merged, reporting both', async () => {
      const output = join(folders.folder(), 'out');
      const run = await train([
        ...['--dataset', dataset(), '--base', await base(), '--output', output],
        ...['--config', '{"max_steps": 2}', '--export', 'merged'],
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.events.at(-1)).toMatchObject({ adapter_dir: output, merged_dir: join(output, 'merged') });
      expect(readdirSync(output)).toEqual(
        expect.arrayContaining(['adapter_model.safetensors', 'adapter_config.json']),
      );
      expect(named(run, 'peft.PeftModel.merge_and_unload')).toHaveLength(1);
      expectMergedFolder(join(output, 'merged'));
    });

    it('merges a QLoRA adapter into a float16 reload of the base, not into the 4-bit weights', async () => {
      const output = join(folders.folder(), 'out');
      const config = JSON.stringify({ max_steps: 2, backend: 'peft', load_in_4bit: true });
      const baseDir = await base();
      const run = await train(
        ['--dataset', dataset(), '--base', baseDir, '--output', output, '--config', config],
        {
          PYSTUB_CUDA: '1',
        },
      );
      expect(run.code, run.stderr).toBe(0);
      expect(one(run, 'transformers.BitsAndBytesConfig')).toMatchObject({
        load_in_4bit: true,
        bnb_4bit_quant_type: 'nf4',
      });
      expect(named(run, 'transformers.AutoModelForCausalLM.from_pretrained').map((c) => c.args)).toEqual([
        {
          pretrained_model_name_or_path: baseDir,
          quantization_config: 'BitsAndBytesConfig',
          dtype: 'torch.bfloat16',
          device_map: { '': 0 },
        },
        { pretrained_model_name_or_path: baseDir, dtype: 'torch.float16', low_cpu_mem_usage: true },
      ]);
      expect(one(run, 'peft.PeftModel.from_pretrained')).toEqual({
        model: 'model#2(torch.float16)',
        model_id: output,
      });
      expect(one(run, 'peft.PeftModel.merge_and_unload')).toEqual({ self: 'peft(model#2(torch.float16))' });
      expect(one(run, 'transformers.PreTrainedModel.save_pretrained')).toMatchObject({
        self: 'model#2(merged)',
      });
      expectMergedFolder(join(output, 'merged'));
    });

    it('trains with Unsloth on a GPU, merges with save_pretrained_merged and rewrites its bfloat16 shards as float16', async () => {
      const output = join(folders.folder(), 'out');
      const baseDir = await base();
      const config = '{"max_steps": 2, "lora_alpha": 16.0}';
      const run = await train(
        ['--dataset', dataset(), '--base', baseDir, '--output', output, '--config', config],
        {
          PYSTUB_CUDA: '1',
        },
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.events[0]).toMatchObject({ event: 'start', backend: 'unsloth' });
      expect(run.events.at(-1)).toMatchObject({
        event: 'done',
        adapter_dir: output,
        merged_dir: join(output, 'merged'),
      });
      expect(one(run, 'unsloth.FastLanguageModel.from_pretrained')).toEqual({
        model_name: baseDir,
        max_seq_length: 2048,
        dtype: null,
        load_in_4bit: false,
        load_in_16bit: true,
      });
      expect(one(run, 'unsloth.FastLanguageModel.get_peft_model')).toMatchObject({ r: 16, lora_alpha: 16 });
      expect(run.callsText).not.toMatch(/"lora_alpha": 16\.0/);
      expect(one(run, 'unsloth.save_pretrained_merged')).toEqual({
        self: 'peft(model#1(torch.bfloat16))',
        save_directory: join(output, 'merged'),
        tokenizer: 'tokenizer(base)',
        save_method: 'merged_16bit',
      });
      const merged = join(output, 'merged');
      expectMergedFolder(merged);
      // The stand-in wrote bfloat16 (as Unsloth does on a bf16 GPU); the values survive the rewrite.
      expect(
        float16Values(
          join(merged, 'model-00001-of-00002.safetensors'),
          'model.layers.0.self_attn.q_proj.weight',
        ),
      ).toEqual([0.75, -0.25, 1.25, 2.25]);
      const index = JSON.parse(readFileSync(join(merged, 'model.safetensors.index.json'), 'utf8'));
      expect(index.metadata.total_size).toBe(2 * (8 + 4 + 2 + 8));
    });

    it('refuses a non-integral integer setting, and an unknown --export, as usage errors', async () => {
      const args = ['--dataset', dataset(), '--base', 'b', '--output', folders.folder()];
      const half = await train([...args, '--config', '{"lora_alpha": 32.5}']);
      expect(half.code).toBe(2);
      expect(half.events).toEqual([
        {
          event: 'error',
          message: expect.stringContaining("config key 'lora_alpha' must be an integer >= 1 (got 32.5)"),
        },
      ]);
      const bad = await train([...args, '--export', 'gguf']);
      expect(bad.code).toBe(2);
      expect(bad.events[0]?.message).toMatch(/usage: argument --export: invalid choice: 'gguf'/);
    });

    it(
      'runs --smoke: trains a few steps, exports both, and prints the commands that serve them',
      async () => {
        const output = join(folders.folder(), 'smoke');
        const run = await train(['--smoke', '--base', await base(), '--output', output]);
        expect(run.code, run.stderr).toBe(0);
        expect(run.events.map((e) => e.event)).toEqual([
          'start',
          ...Array(6).fill('progress'),
          'done',
          'smoke',
        ]);
        const smoke = run.events.at(-1)!;
        const merged = join(output, 'merged');
        expect(smoke).toMatchObject({
          ok: true,
          adapter_dir: output,
          merged_dir: merged,
          modelfile: join(output, 'Modelfile'),
        });
        expect(readFileSync(join(output, 'Modelfile'), 'utf8')).toContain(`FROM ${merged}\n`);
        const commands = smoke.commands as string[];
        expect(commands).toContain(
          `ollama create batos-smoke --quantize q4_K_M -f ${join(output, 'Modelfile')}`,
        );
        const files: Record<string, string> = {};
        for (const name of readdirSync(merged)) {
          const digest = `sha256:${createHash('sha256')
            .update(readFileSync(join(merged, name)))
            .digest('hex')}`;
          files[name] = digest;
          expect(commands).toContain(
            `curl -sS -X POST --data-binary @${join(merged, name)} http://127.0.0.1:11434/api/blobs/${digest}`,
          );
        }
        const create = commands.find((c) => c.includes('/api/create'))!;
        expect(JSON.parse(create.slice(create.indexOf("'") + 1, -1))).toEqual({
          model: 'batos-smoke',
          files,
          quantize: 'q4_K_M',
          stream: false,
        });
        expect(commands.at(-1)).toBe(
          `curl -sS http://127.0.0.1:8000/v1/load_lora_adapter -H 'Content-Type: application/json' ` +
            `-d '{"lora_name": "batos-smoke", "lora_path": "${output}"}'`,
        );
        expect(run.stderr).toContain('ollama create batos-smoke');
        expectMergedFolder(merged);
      },
      SLOW_MS,
    );
  },
);

/** Renders conversations with the trainer's rendering and with Ollama-style templates (chat_fixtures). */
const TEMPLATE_PROBE = `
import json, os, sys, tempfile
sys.path.insert(0, os.path.join("forge", "finetune"))
import chat_fixtures, transformers
from batos_trainer.tokenizing import prompt_rule, render_chat

conversations = [
    [{"role": "system", "content": "You are BRICK."}, {"role": "user", "content": "Status?"},
     {"role": "assistant", "content": "Nominal."}, {"role": "user", "content": "Bats?"},
     {"role": "assistant", "content": "Also nominal."}],
    [{"role": "user", "content": "Plan?"}, {"role": "assistant", "content": "A plan."}],
]
report = {}
for family, ollama in chat_fixtures.OLLAMA_RENDERERS.items():
    tok = transformers.AutoTokenizer.from_pretrained(chat_fixtures.write_base(tempfile.mkdtemp(), family))
    rule = prompt_rule(tok, "ollama")
    cases = []
    for messages in conversations:
        for k, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            cases.append({
                "trainer": render_chat(tok, messages[:k], True, rule),
                "ollama": chat_fixtures.BOS + ollama(messages[:k]),
                "hf": render_chat(tok, messages[:k], True, prompt_rule(tok, "hf")),
            })
        cases.append({
            "trainer": render_chat(tok, messages, False, rule),
            "ollama": chat_fixtures.BOS + ollama(messages) + chat_fixtures.EOT,
            "hf": render_chat(tok, messages, False, None),
        })
    report[family] = {"rule": rule, "cases": cases}
print(json.dumps(report))
`;

describe.skipIf(NO_PYTHON_WITH_JINJA)(
  'the training prompt is the one Ollama renders (needs python3 with jinja2)',
  () => {
    it('renders Llama 3.1 and 3.2 conversations exactly as Ollama templates them, without the date header', async () => {
      const run = await python(['-c', TEMPLATE_PROBE]);
      expect(run.code, run.stderr).toBe(0);
      const report = run.events[0] as Record<string, { rule: string; cases: Array<Record<string, string>> }>;
      expect(Object.keys(report)).toEqual(['llama3.1', 'llama3.2']);
      for (const [family, { rule, cases }] of Object.entries(report)) {
        expect(rule).toBe(family);
        expect(cases).toHaveLength(5);
        // Every prompt before an assistant turn, and every whole training text (Ollama leaves the
        // last assistant turn open; the model learns to close it with <|eot_id|>), matches.
        for (const c of cases) expect(c.trainer).toBe(c.ollama);
        // The Hugging Face template alone would have trained on a header Ollama never sends.
        for (const c of cases) expect(c.hf).toMatch(/Today Date: /);
      }
      expect(report['llama3.1']!.cases[3]!.trainer).toBe(
        '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nPlan?<|eot_id|>' +
          '<|start_header_id|>assistant<|end_header_id|>\n\n',
      );
      expect(report['llama3.2']!.cases[3]!.trainer).toBe(
        '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n\n' +
          '<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nPlan?<|eot_id|>' +
          '<|start_header_id|>assistant<|end_header_id|>\n\n',
      );
    });
  },
);
