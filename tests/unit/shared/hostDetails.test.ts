import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/services/errors.ts';
import { unreachableError } from '../../../src/services/llm/ollamaErrors.ts';
import { toOpenAIError } from '../../../src/services/llm/openaiModels.ts';
import {
  ADDRESS,
  COMMAND_LINE,
  publicMessageOf,
  withoutHostDetails,
} from '../../../src/shared/hostDetails.ts';

describe('withoutHostDetails', () => {
  it('takes out server addresses, keeping the sentence around them', () => {
    expect(withoutHostDetails('cannot reach Ollama at http://10.0.0.7:11434: fetch failed')).toBe(
      `cannot reach Ollama at ${ADDRESS}: fetch failed`,
    );
    expect(withoutHostDetails('connect ECONNREFUSED 10.0.0.7:8000, then localhost:11434')).toBe(
      `connect ECONNREFUSED ${ADDRESS}, then ${ADDRESS}`,
    );
  });

  it('keeps only the last part of an absolute path', () => {
    expect(
      withoutHostDetails(
        "the trainer's merged_dir (/srv/batos/data/finetune/ft1/merged-elsewhere) lies outside its --output folder (/srv/batos/data/finetune/ft1/adapter).",
      ),
    ).toBe("the trainer's merged_dir (…/merged-elsewhere) lies outside its --output folder (…/adapter).");
    expect(withoutHostDetails('  File "/opt/venv/lib/python3.11/site-packages/torch/cuda.py", line 3')).toBe(
      '  File "…/cuda.py", line 3',
    );
    expect(withoutHostDetails('C:\\Users\\ada\\models\\base.gguf and ~/models/base.gguf')).toBe(
      '…\\base.gguf and …/base.gguf',
    );
    expect(withoutHostDetails('--dataset=/data/finetune/ft1/train.jsonl')).toBe('--dataset=…/train.jsonl');
  });

  it('hides an echoed command line whole', () => {
    expect(
      withoutHostDetails('$ python /opt/trainer/train.py --dataset /data/train.jsonl --base x\nstep 1'),
    ).toBe(`$ ${COMMAND_LINE}\nstep 1`);
  });

  it('leaves what is no host detail as it is: slash commands, API routes, model ids, fractions', () => {
    const text =
      'run `/tools forge` or </finetune status:123>; POST /v1/load_lora_adapter answered 404; base Qwen/Qwen2.5-0.5B-Instruct; and/or 1/2';
    expect(withoutHostDetails(text)).toBe(text);
  });

  it('is idempotent', () => {
    const once = withoutHostDetails('at http://x:1 in /a/b/c and $ cmd /a/b');
    expect(withoutHostDetails(once)).toBe(once);
  });
});

describe('public and private words of an error', () => {
  it("an unreachable Ollama's public words name no address; its message keeps it for the log", () => {
    const error = unreachableError('http://10.0.0.7:11434');
    expect(error.message).toContain('http://10.0.0.7:11434');
    expect(error.publicMessage).not.toMatch(/10\.0\.0\.7|11434|http/);
    expect(error.publicMessage).toMatch(/cannot reach Ollama: start it with `ollama serve`/);
    expect(publicMessageOf(new Error('graph node failed', { cause: error }))).toBe(error.publicMessage);
  });

  it("an OpenAI-compatible server's failures name the server, not its address", () => {
    const context = { baseUrl: 'http://vllm.internal:8000/v1', model: 'm', timeoutMs: 1000 };
    for (const thrown of [
      Object.assign(new Error('unauthorized'), { status: 401 }),
      Object.assign(new Error('model m does not exist'), { status: 404 }),
      Object.assign(new Error('busy'), { status: 429 }),
      new Error('Connection error.'),
      Object.assign(new Error('boom at http://vllm.internal:8000/v1/chat'), { status: 500 }),
    ]) {
      const error = toOpenAIError(thrown, context) as AppError;
      expect(error.message).toContain('vllm.internal');
      expect(error.publicMessage).not.toContain('vllm.internal');
    }
  });

  it('an AppError without public words of its own gets its message without the host details', () => {
    const error = new AppError('CODEX_INVALID', 'user', '/srv/batos/codex.toml:3 version: expected a number');
    expect(error.publicMessage).toBe('…/codex.toml:3 version: expected a number');
    expect(publicMessageOf(new Error('spawn /usr/local/bin/python3 ENOENT'))).toBe('spawn …/python3 ENOENT');
  });
});
