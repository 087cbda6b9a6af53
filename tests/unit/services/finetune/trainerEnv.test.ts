import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/services/config.ts';
import { parseEnvNames, trainerEnvironment } from '../../../../src/services/finetune/trainerEnv.ts';

describe('the trainer’s environment', () => {
  const bot = {
    PATH: '/usr/bin',
    HOME: '/home/bat',
    LANG: 'en_GB.UTF-8',
    LC_ALL: 'C.UTF-8',
    TMPDIR: '/tmp',
    PYTHONPATH: '/opt/lib',
    VIRTUAL_ENV: '/opt/venv',
    CUDA_VISIBLE_DEVICES: '1',
    NVIDIA_VISIBLE_DEVICES: 'all',
    HF_TOKEN: 'hf',
    HF_HOME: '/cache/hf',
    TRANSFORMERS_CACHE: '/cache/t',
    PYTORCH_CUDA_ALLOC_CONF: 'expandable_segments:True',
    DISCORD_TOKEN: 'discord',
    OPENAI_API_KEY: 'sk',
    OPENAI_BASE_URL: 'http://vllm:8000/v1',
    OLLAMA_HOST: 'http://127.0.0.1:11434',
    FINETUNE_COMMAND: 'python3 train.py',
    DATA_DIR: '/data',
    WANDB_API_KEY: 'wandb',
    SLURM_JOB_ID: '7',
    SLURM_NODELIST: 'gpu1',
    UNSET: undefined,
  };

  it('keeps the names training needs and drops the bot’s settings and secrets', () => {
    expect(Object.keys(trainerEnvironment(bot)).sort()).toEqual(
      [
        'CUDA_VISIBLE_DEVICES',
        'HF_HOME',
        'HF_TOKEN',
        'HOME',
        'LANG',
        'LC_ALL',
        'NVIDIA_VISIBLE_DEVICES',
        'PATH',
        'PYTHONPATH',
        'PYTORCH_CUDA_ALLOC_CONF',
        'TMPDIR',
        'TRANSFORMERS_CACHE',
        'VIRTUAL_ENV',
      ].sort(),
    );
  });

  it('adds the names and prefixes FINETUNE_ENV lists', () => {
    const env = trainerEnvironment(bot, ['WANDB_API_KEY', 'SLURM_*']);
    expect(env).toMatchObject({ WANDB_API_KEY: 'wandb', SLURM_JOB_ID: '7', SLURM_NODELIST: 'gpu1' });
    expect(env).not.toHaveProperty('DISCORD_TOKEN');
  });

  it('reads FINETUNE_ENV as names separated by commas or spaces, and refuses what is not a name', () => {
    expect(parseEnvNames(' WANDB_API_KEY, SLURM_*  MY_VAR ')).toEqual({
      names: ['WANDB_API_KEY', 'SLURM_*', 'MY_VAR'],
    });
    expect(parseEnvNames('')).toEqual({ names: [] });
    expect(loadConfig({}).finetuneEnv).toEqual([]);
    expect(loadConfig({ FINETUNE_ENV: 'WANDB_*,EXTRA' }).finetuneEnv).toEqual(['WANDB_*', 'EXTRA']);
    expect(() => loadConfig({ FINETUNE_ENV: 'GOOD, B*AD' })).toThrow(/FINETUNE_ENV.*B\*AD/);
  });
});
