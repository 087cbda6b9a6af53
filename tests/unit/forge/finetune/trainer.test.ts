import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempFolders } from '../../../support/fixtures.ts';

const TRAIN_PY = join(REPO_ROOT, 'forge/finetune/train.py');
/** The package behind train.py, one module per concern. */
const TRAINER_PACKAGE = join(REPO_ROOT, 'forge/finetune/batos_trainer');
const TRAINER_MODULES = [
  '__init__',
  'protocol',
  'config',
  'dataset',
  'chat_format',
  'tokenizing',
  'model',
  'safetensors_io',
  'export',
  'training',
  'selftest',
  'smoke',
  'cli',
];
const FAKE_TRAINER = join(REPO_ROOT, 'tests/support/fakeTrainer.mjs');
const NO_PYTHON = spawnSync('python3', ['--version']).status !== 0;
/** Without an interpreter the Python suites are skipped, and their names say why. */
const pythonSuite = (name: string) => (NO_PYTHON ? `${name} (skipped: python3 is not on PATH)` : name);

/** Runs that import torch and transformers (where installed) can be slow on a busy machine. */
const IMPORTS_TORCH_MS = 300_000;

type Json = Record<string, unknown>;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const folders = tempFolders();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  folders.cleanup();
});

function start(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = REPO_ROOT,
): ChildProcess {
  const child = spawn(command, args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HF_HUB_OFFLINE: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = REPO_ROOT,
): Promise<Finished> {
  return finished(start(command, args, env, cwd));
}

function python(args: string[]): Promise<Finished> {
  return run('python3', [TRAIN_PY, ...args]);
}

/** Splits stdout into the JSON objects the protocol allows and every other line. */
function parseLines(stdout: string): { objects: Json[]; other: string[] } {
  const objects: Json[] = [];
  const other: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) objects.push(value as Json);
      else other.push(line);
    } catch {
      other.push(line);
    }
  }
  return { objects, other };
}

/** The well-formed protocol events among the parsed objects (malformed ones are left out). */
function events(stdout: string): Json[] {
  return parseLines(stdout).objects.filter((o) => {
    switch (o.event) {
      case 'start':
        return (
          typeof o.total_steps === 'number' && typeof o.samples === 'number' && typeof o.backend === 'string'
        );
      case 'progress':
        return typeof o.step === 'number' && typeof o.total_steps === 'number' && typeof o.loss === 'number';
      case 'done':
        return typeof o.adapter_dir === 'string' && typeof o.steps === 'number';
      case 'error':
        return typeof o.message === 'string';
      default:
        return false;
    }
  });
}

const turn = (role: string, content: string) => ({ role, content });
const sample = (...messages: unknown[]) => JSON.stringify({ messages, meta: { persona: 'ROBIN' } });
const GOOD_LINES = [
  sample(turn('system', 'You are ROBIN.'), turn('user', 'Hello?'), turn('assistant', 'Hi there!')),
  sample(turn('user', 'One?'), turn('assistant', 'One.'), turn('user', 'Two?'), turn('assistant', 'Two.')),
  sample(turn('user', 'Plan?'), turn('assistant', 'A plan.')),
];

function writeDataset(lines: string[]): string {
  const path = join(folders.folder(), 'train.jsonl');
  writeFileSync(path, lines.length > 0 ? `${lines.join('\n')}\n` : '');
  return path;
}

describe.skipIf(NO_PYTHON)(pythonSuite('forge/finetune/train.py'), () => {
  it('compiles with python3 -m py_compile, with every module of its package', async () => {
    const modules = readdirSync(TRAINER_PACKAGE).filter((name) => name.endsWith('.py'));
    expect(modules).toEqual(expect.arrayContaining(TRAINER_MODULES.map((name) => `${name}.py`)));
    const files = [TRAIN_PY, ...modules.map((name) => join(TRAINER_PACKAGE, name))];
    // The bytecode goes to a temporary folder, not into the source tree.
    const result = await run('python3', ['-m', 'py_compile', ...files], {
      PYTHONPYCACHEPREFIX: folders.folder(),
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('prints its usage on stderr and exits 0 with --help, leaving stdout to the protocol', async () => {
    const result = await python(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^usage: train\.py /);
    expect(result.stderr).toContain('--self-test');
  });

  it('runs from any working directory, finding its package beside it', async () => {
    const elsewhere = folders.folder();
    const result = await run('python3', [TRAIN_PY, '--check', writeDataset(GOOD_LINES)], {}, elsewhere);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, samples: 3, assistant_turns: 4 });
  });

  it('counts the samples and assistant turns of a valid dataset with --check', async () => {
    const result = await python(['--check', writeDataset([...GOOD_LINES, ''])]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, samples: 3, assistant_turns: 4 });
  });

  it.each([
    ['a line that is not JSON', '{"messages": [', /^line 2: not valid JSON/],
    ['a sample without an assistant turn', sample(turn('user', 'Anyone?')), /^line 2: has no assistant turn/],
    [
      'turns out of order',
      sample(turn('assistant', 'First!'), turn('user', 'Hm?'), turn('assistant', 'Yes.')),
      /^line 2: message 1 has role assistant where user was expected/,
    ],
    [
      'a sample that ends on a user turn',
      sample(turn('user', 'Q'), turn('assistant', 'A'), turn('user', 'Q2')),
      /^line 2: the last message must be an assistant turn/,
    ],
    [
      'a system message after the first',
      sample(turn('user', 'Q'), turn('system', 'S'), turn('assistant', 'A')),
      /^line 2: message 2 is a system message/,
    ],
    [
      'empty content',
      sample(turn('user', 'Q'), turn('assistant', '   ')),
      /^line 2: message 2 \(assistant\) has empty content/,
    ],
    [
      'an unknown role',
      sample(turn('tool', 'x'), turn('assistant', 'A')),
      /^line 2: message 1 has role "tool"/,
    ],
    ['no messages', JSON.stringify({ meta: {} }), /^line 2: "messages" must be a non-empty list/],
  ])('rejects %s with --check, naming the line', async (_name, badLine, expected) => {
    const result = await python(['--check', writeDataset([GOOD_LINES[0]!, badLine, GOOD_LINES[2]!])]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { ok: boolean; errors: string[] };
    expect(report.ok).toBe(false);
    expect(report.errors[0]).toMatch(expected);
    expect(report.errors.every((error) => error.startsWith('line 2: '))).toBe(true);
  });

  it('rejects an empty dataset with --check', async () => {
    const result = await python(['--check', writeDataset([])]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/is empty/)],
    });
  });

  it('lists at most 20 problems with --check', async () => {
    const result = await python(['--check', writeDataset(Array.from({ length: 30 }, () => 'nope'))]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { errors: string[]; error_count: number };
    expect(report.errors).toHaveLength(20);
    expect(report.errors[19]).toMatch(/^line 20: /);
    expect(report.error_count).toBe(30);
  });

  it('exits 2 with an error event when required arguments are missing', async () => {
    const result = await python(['--dataset', writeDataset(GOOD_LINES)]);
    expect(result.code).toBe(2);
    expect(events(result.stdout)).toEqual([
      { event: 'error', message: expect.stringMatching(/usage: missing --base, --output/) },
    ]);
  });

  it('exits 2 naming every bad config key before loading anything', async () => {
    const config = JSON.stringify({ max_steps: 0, learning_rat: 1e-4, backend: 'tpu' });
    const result = await python([
      '--dataset',
      writeDataset(GOOD_LINES),
      '--base',
      'b',
      '--output',
      'o',
      '--config',
      config,
    ]);
    expect(result.code).toBe(2);
    const [error] = events(result.stdout);
    expect(error?.message).toMatch(/'max_steps' must be an integer >= 1/);
    expect(error?.message).toMatch(/unknown config key 'learning_rat'/);
    expect(error?.message).toMatch(/'backend' must be one of auto, unsloth, peft/);
  });

  it('reports an invalid training dataset as an error event naming the line, and exits 1', async () => {
    const dataset = writeDataset([GOOD_LINES[0]!, sample(turn('user', 'Q'))]);
    const result = await python(['--dataset', dataset, '--base', 'b', '--output', folders.folder()]);
    expect(result.code).toBe(1);
    expect(parseLines(result.stdout).other).toEqual([]);
    expect(events(result.stdout)).toEqual([
      { event: 'error', message: expect.stringMatching(/is invalid: line 2: has no assistant turn/) },
    ]);
  });

  it('reports a missing dataset file as an error event, and exits 1', async () => {
    const missing = join(folders.folder(), 'absent.jsonl');
    const result = await python(['--dataset', missing, '--base', 'b', '--output', folders.folder()]);
    expect(result.code).toBe(1);
    expect(events(result.stdout)).toEqual([{ event: 'error', message: `dataset not found: ${missing}` }]);
  });

  it(
    'fails with one error event, and only JSON on stdout, when the base cannot be loaded',
    async () => {
      const base = join(folders.folder(), 'no-such-model');
      const result = await python([
        '--dataset',
        writeDataset(GOOD_LINES),
        '--base',
        base,
        '--output',
        folders.folder(),
      ]);
      expect(result.code).toBe(1);
      expect(parseLines(result.stdout).other).toEqual([]);
      // Without torch/peft installed it stops at the import; with them, at loading the base.
      expect(events(result.stdout)).toEqual([
        {
          event: 'error',
          message: expect.stringMatching(/missing Python package|could not load base model/),
        },
      ]);
    },
    IMPORTS_TORCH_MS,
  );

  it('runs --self-test where the libraries exist, and otherwise reports it skipped with exit 0', async () => {
    const result = await python(['--self-test']);
    const objects = parseLines(result.stdout).objects;
    expect(parseLines(result.stdout).other).toEqual([]);
    const verdict = objects.at(-1);
    if (verdict?.skipped === true) {
      expect(result.code).toBe(0);
      expect(verdict).toMatchObject({ event: 'self_test', ok: false, skipped: true });
      expect(verdict.message).toMatch(/pip install -r forge\/finetune\/requirements\.txt/);
      expect(result.stderr).toMatch(/self-test skipped/);
    } else {
      expect(verdict).toMatchObject({
        event: 'self_test',
        ok: true,
        adapter_reloaded: true,
        merged_reloaded: true,
      });
      expect(objects.find((o) => o.event === 'done')).toMatchObject({
        merged_dir: expect.stringMatching(/merged$/),
      });
      expect(result.code).toBe(0);
    }
  }, 600_000);
});

/**
 * Runs a Python snippet against train.py's functions with a fake character-level tokenizer,
 * so the loss masking is checked on any machine (standard library only).
 */
const MASKING_PROBE = String.raw`
import json, os, sys
sys.path.insert(0, os.path.join("forge", "finetune"))
import train
from batos_trainer.training import _is_out_of_memory, _out_of_memory_message

SPECIALS = ["<s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<think>", "</think>"]

class FakeTokenizer:
    chat_template = "fake"
    def __init__(self, render):
        self.render = render
    def apply_chat_template(self, messages, tokenize=True, add_generation_prompt=False):
        assert tokenize is False
        return self.render(messages, add_generation_prompt)
    def __call__(self, text, add_special_tokens=True):
        assert add_special_tokens is False
        ids, i = [], 0
        while i < len(text):
            for n, special in enumerate(SPECIALS):
                if text.startswith(special, i):
                    ids.append(100000 + n)
                    i += len(special)
                    break
            else:
                ids.append(ord(text[i]))
                i += 1
        return {"input_ids": ids}
    def decode(self, ids):
        return "".join(SPECIALS[i - 100000] if i >= 100000 else chr(i) for i in ids)

def plain(messages, gen):
    text = "<s>" + "".join("<|%s|>%s<|end|>\n" % (m["role"], m["content"]) for m in messages)
    return text + ("<|assistant|>" if gen else "")

def reasoning(messages, gen):
    out = "<s>"
    for i, m in enumerate(messages):
        body = m["content"]
        if m["role"] == "assistant" and i == len(messages) - 1:
            body = "<think></think>" + body
        out += "<|%s|>%s<|end|>\n" % (m["role"], body)
    return out + ("<|assistant|>" if gen else "")

def no_system(messages, gen):
    if any(m["role"] == "system" for m in messages):
        raise ValueError("System role not supported")
    return plain(messages, gen)

conversation = [
    {"role": "system", "content": "You are ROBIN."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Bye?"},
    {"role": "assistant", "content": "Bye."},
]
report = {}
for name, render in [("plain", plain), ("reasoning", reasoning), ("no_system", no_system)]:
    tok = FakeTokenizer(render)
    examples, stats = train.build_examples(tok, [conversation], 4096)
    report[name] = {
        "trained": [tok.decode([i for i, l in zip(e["input_ids"], e["labels"]) if l != -100]) for e in examples],
        "texts": [tok.decode(e["input_ids"]) for e in examples],
        "stats": stats.__dict__,
    }

tok = FakeTokenizer(plain)
short = conversation[1:3]
long = [{"role": "user", "content": "x" * 200}, {"role": "assistant", "content": "late"}]
limit = len(tok(plain(short, False), add_special_tokens=False)["input_ids"])
examples, stats = train.build_examples(tok, [short, long], limit)
report["truncation"] = {"examples": len(examples), "stats": stats.__dict__}
try:
    train.build_examples(tok, [long], limit)
    report["nothing_left"] = None
except train.TrainerError as error:
    report["nothing_left"] = str(error)
report["oom"] = {
    "detected": _is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")),
    "message": _out_of_memory_message("training", train.TrainConfig()),
}
print(json.dumps(report))
`;

/** Third-party prints, even writes to descriptor 1 from C code, must not reach the protocol. */
const STDOUT_PROBE = String.raw`
import os, sys
sys.path.insert(0, os.path.join("forge", "finetune"))
import train
protocol = train.Protocol(train.open_protocol_stream())
print("a library print")
os.write(1, b"a write to descriptor 1\n")
protocol.emit("progress", step=1, total_steps=1, loss=float("nan"), learning_rate=0.1, elapsed_s=0.5)
`;

describe.skipIf(NO_PYTHON)(
  'train.py loss masking and stdout discipline (skipped: python3 is not on PATH)',
  () => {
    it('trains only on assistant turns, however the chat template treats earlier turns', async () => {
      const result = await run('python3', ['-c', MASKING_PROBE]);
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as Record<
        string,
        Json & { trained: string[]; texts: string[] }
      >;

      // A template whose renders are prefixes of each other: one example, both turns trained.
      expect(report.plain?.trained).toEqual(['Hello!<|end|>\nBye.<|end|>\n']);
      expect(report.plain?.stats).toMatchObject({ examples: 1, split_per_turn: 0, system_merged: 0 });

      // A template that rewrites earlier assistant turns: one example per turn, each training its own turn.
      expect(report.reasoning?.trained).toEqual([
        '<think></think>Hello!<|end|>\n',
        '<think></think>Bye.<|end|>\n',
      ]);
      expect(report.reasoning?.texts[1]).toContain('<|assistant|>Hello!<|end|>\n<|user|>Bye?');
      expect(report.reasoning?.stats).toMatchObject({ examples: 2, split_per_turn: 1 });

      // A template without a system role: the system text joins the first user turn.
      expect(report.no_system?.trained).toEqual(['Hello!<|end|>\nBye.<|end|>\n']);
      expect(report.no_system?.texts[0]).toContain('<|user|>You are ROBIN.\n\nHi<|end|>');
      expect(report.no_system?.stats).toMatchObject({ system_merged: 1 });
    });

    it('drops examples whose assistant turn lies past max_seq_length, and fails when none is left', async () => {
      const result = await run('python3', ['-c', MASKING_PROBE]);
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as Record<string, Json>;
      expect(report.truncation).toMatchObject({ examples: 1, stats: { truncated: 1, dropped: 1 } });
      expect(report.nothing_left).toMatch(/no example keeps an assistant token within max_seq_length/);
    });

    it('suggests a smaller batch or sequence length on CUDA out-of-memory', async () => {
      const result = await run('python3', ['-c', MASKING_PROBE]);
      const report = JSON.parse(result.stdout) as { oom: { detected: boolean; message: string } };
      expect(report.oom.detected).toBe(true);
      expect(report.oom.message).toMatch(
        /lower per_device_train_batch_size \(now 2\) or max_seq_length \(now 2048\)/,
      );
    });

    it('keeps library prints off stdout and writes NaN as null', async () => {
      const result = await run('python3', ['-c', STDOUT_PROBE]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(
        '{"event": "progress", "step": 1, "total_steps": 1, "loss": null, "learning_rate": 0.1, "elapsed_s": 0.5}\n',
      );
      expect(result.stderr).toContain('a library print');
      expect(result.stderr).toContain('a write to descriptor 1');
    });
  },
);

describe('tests/support/fakeTrainer.mjs', () => {
  const fake = (args: string[], env: Record<string, string> = {}) =>
    start(process.execPath, [FAKE_TRAINER, ...args], env);

  function callArgs(output = join(folders.folder(), 'adapter')): { args: string[]; output: string } {
    const args = [
      '--dataset',
      writeDataset(GOOD_LINES),
      '--base',
      'unsloth/Llama-3.2-1B-Instruct',
      '--output',
      output,
    ];
    return { args, output };
  }

  it('prints start, falling progress and done, and leaves a valid safetensors adapter when ok', async () => {
    const { args, output } = callArgs();
    const config = JSON.stringify({ max_steps: 3, lora_r: 4 });
    const result = await finished(
      fake([...args, '--config', config, '--seed', '7'], { FAKE_TRAINER_STEPS: '3' }),
    );
    expect(result.code).toBe(0);
    expect(parseLines(result.stdout).other).toEqual([]);
    const all = events(result.stdout);
    expect(all.map((e) => e.event)).toEqual(['start', 'progress', 'progress', 'progress', 'done']);
    expect(all[0]).toEqual({ event: 'start', total_steps: 3, backend: 'unsloth', samples: 3 });
    const losses = all.filter((e) => e.event === 'progress').map((e) => e.loss as number);
    expect(losses).toEqual([...losses].sort((a, b) => b - a));
    expect(all.at(-1)).toMatchObject({ event: 'done', adapter_dir: output, steps: 3 });

    const weights = readFileSync(join(output, 'adapter_model.safetensors'));
    const headerLength = Number(weights.readBigUInt64LE(0));
    const header = JSON.parse(weights.subarray(8, 8 + headerLength).toString('utf8')) as Record<
      string,
      { data_offsets?: [number, number] }
    >;
    const end = Math.max(...Object.values(header).map((t) => t.data_offsets?.[1] ?? 0));
    expect(weights.length).toBe(8 + headerLength + end);
    expect(JSON.parse(readFileSync(join(output, 'adapter_config.json'), 'utf8'))).toMatchObject({
      base_model_name_or_path: 'unsloth/Llama-3.2-1B-Instruct',
      peft_type: 'LORA',
      r: 4,
    });
    expect(JSON.parse(readFileSync(join(output, 'fake-trainer.json'), 'utf8'))).toMatchObject({
      argv: [...args, '--config', config, '--seed', '7'],
      dataset_lines: 3,
      config: { max_steps: 3, lora_r: 4 },
      seed: 7,
    });
  });

  it('prints some progress then an error event, and exits 1, when it fails', async () => {
    const { args, output } = callArgs();
    const result = await finished(fake(args, { FAKE_TRAINER_MODE: 'fails', FAKE_TRAINER_STEPS: '4' }));
    expect(result.code).toBe(1);
    expect(events(result.stdout).map((e) => e.event)).toEqual(['start', 'progress', 'progress', 'error']);
    expect(existsSync(join(output, 'adapter_model.safetensors'))).toBe(false);
  });

  it('keeps running after its first progress line until it is killed when it hangs', async () => {
    const child = fake(callArgs().args, { FAKE_TRAINER_MODE: 'hangs' });
    const outcome = finished(child);
    let seen = '';
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: string) => {
        seen += chunk;
        if (events(seen).some((e) => e.event === 'progress')) resolve();
      });
    });
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    const result = await outcome;
    expect(result.signal).toBe('SIGTERM');
    expect(events(result.stdout).map((e) => e.event)).toEqual(['start', 'progress']);
  });

  it('mixes non-JSON and malformed lines among valid progress, then succeeds, when garbage', async () => {
    const result = await finished(
      fake(callArgs().args, { FAKE_TRAINER_MODE: 'garbage', FAKE_TRAINER_STEPS: '7' }),
    );
    expect(result.code).toBe(0);
    const { objects, other } = parseLines(result.stdout);
    expect(other).toEqual(expect.arrayContaining([expect.stringMatching(/Unsloth/), '[1, 2, 3]', 'null']));
    expect(objects.length).toBeGreaterThan(events(result.stdout).length);
    expect(events(result.stdout).map((e) => e.event)).toEqual([
      'start',
      ...Array(7).fill('progress'),
      'done',
    ]);
  });

  it('exits 137 without a done or error event when it crashes', async () => {
    const result = await finished(fake(callArgs().args, { FAKE_TRAINER_MODE: 'crash' }));
    expect(result.code).toBe(137);
    expect(events(result.stdout).map((e) => e.event)).toEqual(['start', 'progress']);
  });

  it('exits 2 with an error event on a usage error, like the real trainer', async () => {
    const missing = await finished(fake(['--dataset', writeDataset(GOOD_LINES)]));
    expect(missing.code).toBe(2);
    expect(events(missing.stdout)).toEqual([
      { event: 'error', message: expect.stringMatching(/usage: missing --base, --output/) },
    ]);
    const badKey = await finished(fake([...callArgs().args, '--config', '{"learning_rat": 1}']));
    expect(badKey.code).toBe(2);
    expect(events(badKey.stdout)[0]?.message).toMatch(/unknown config key\(s\): learning_rat/);
  });

  it('paces its lines by FAKE_TRAINER_DELAY_MS', async () => {
    const result = await finished(
      fake(callArgs().args, { FAKE_TRAINER_DELAY_MS: '20', FAKE_TRAINER_STEPS: '2' }),
    );
    expect(result.code).toBe(0);
    const progress = events(result.stdout).filter((e) => e.event === 'progress');
    // Three pauses (start, progress 1, progress 2) of at least 20 ms each before the second progress line.
    expect(progress[1]?.elapsed_s as number).toBeGreaterThanOrEqual(0.05);
  });
});
