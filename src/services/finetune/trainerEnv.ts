import { z } from 'zod';

/**
 * The trainer's environment: what training needs from the bot's, and nothing else. The trainer
 * is a guest (any program `FINETUNE_COMMAND` names, possibly a wrapper that runs it elsewhere):
 * it has no use for the bot's Discord token, its OpenAI key or its other settings, so it does
 * not get them. It keeps what finds programs and libraries, the locale and temporary folders,
 * the Python environment, the GPU's settings, and the Hugging Face and PyTorch settings (a gated
 * base model needs `HF_TOKEN`). `FINETUNE_ENV` names more, for a trainer that needs them (a
 * cluster's job settings, an experiment tracker's key).
 */

/** Names passed as they are. */
const NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TEMP',
  'TMP',
  'LD_LIBRARY_PATH',
  'VIRTUAL_ENV',
  'OMP_NUM_THREADS',
  'TOKENIZERS_PARALLELISM',
  // Downloading the base model behind a proxy or a private certificate authority.
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  // What Windows programs need to start at all.
  'SYSTEMROOT',
  'WINDIR',
  'COMSPEC',
  'PATHEXT',
  'USERPROFILE',
  'APPDATA',
  'LOCALAPPDATA',
  'PROGRAMDATA',
]);

/** Prefixes of the names passed: locale, Python, GPU, Hugging Face, PyTorch and the training libraries. */
const PREFIXES = [
  'LC_',
  'XDG_',
  'PYTHON',
  'CONDA_',
  'CUDA_',
  'CUDNN_',
  'NVIDIA_',
  'NCCL_',
  'ROCM_',
  'HIP_',
  'HSA_',
  'HF_',
  'HUGGINGFACE_',
  'HUGGING_FACE_',
  'TRANSFORMERS_',
  'TORCH_',
  'PYTORCH_',
  'TRITON_',
  'ACCELERATE_',
  'BNB_',
  'UNSLOTH_',
  'SAFETENSORS_',
  'MKL_',
  'OPENBLAS_',
] as const;

/** Whether `FINETUNE_ENV` names it: a name, or a prefix ending in `*`. */
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

/**
 * The names `FINETUNE_ENV` lists (separated by commas or spaces), or the first that is not a
 * name: `WANDB_API_KEY`, or `SLURM_*` for every name that starts so.
 */
export function parseEnvNames(text: string): { names: string[] } | { invalid: string } {
  const names = text.split(/[\s,]+/).filter(Boolean);
  const invalid = names.find((name) => !NAME_PATTERN.test(name));
  return invalid === undefined ? { names } : { invalid };
}

/** The `FINETUNE_ENV` setting, as the config schema reads it: its names, or what is wrong with it. */
export const envNamesSetting = () =>
  z
    .string()
    .default('')
    .transform((value, ctx) => {
      const parsed = parseEnvNames(value);
      if ('names' in parsed) return parsed.names;
      ctx.addIssue({
        code: 'custom',
        message: `expected names such as WANDB_API_KEY or SLURM_*, not ${parsed.invalid}`,
      });
      return z.NEVER;
    });

/**
 * What the trainer's environment holds of `source` (the bot's): the names training needs, and
 * those `extra` lists (`FINETUNE_ENV`: a name, or a prefix ending in `*`).
 */
export function trainerEnvironment(
  source: Readonly<Record<string, string | undefined>>,
  extra: readonly string[] = [],
): Record<string, string> {
  // Windows names are case-insensitive (`Path`, `SystemRoot`).
  const key = process.platform === 'win32' ? (name: string) => name.toUpperCase() : (name: string) => name;
  const names = new Set([...NAMES, ...extra.filter((name) => !name.endsWith('*'))].map(key));
  const prefixes = [
    ...PREFIXES,
    ...extra.filter((name) => name.endsWith('*')).map((name) => name.slice(0, -1)),
  ].map(key);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const k = key(name);
    if (names.has(k) || prefixes.some((prefix) => k.startsWith(prefix))) env[name] = value;
  }
  return env;
}
