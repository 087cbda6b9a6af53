import { config as loadDotEnvFile } from 'dotenv';
import { z } from 'zod';
import { cronSetting, duration, flag, fraction, normalizeOllamaHost, snowflake } from './configFields.ts';
import { CURATION_SCOPES, type CurationScope } from './curation/curationScope.ts';
import { AppError } from './errors.ts';
import { envNamesSetting } from './finetune/trainerEnv.ts';
import { LLM_PROVIDERS, type LlmProvider } from './llm/chatModel.ts';
import { LOG_FORMATS, type LogFormat } from './logger.ts';
import { type ShardingConfig, shardingConfig, shardingFields, shardingProblems } from './shardingConfig.ts';

/**
 * The one reader of `process.env`. Everything else receives a {@link Config}.
 * Keys, defaults and meanings are documented in `.env.example` (a test keeps both in sync).
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const envSchema = z.object({
  OLLAMA_HOST: z
    .string()
    .default('http://127.0.0.1:11434')
    .transform((value, ctx) => {
      try {
        return normalizeOllamaHost(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: `"${value}" is not a host or URL` });
        return z.NEVER;
      }
    }),
  // setTimeout fires at once for delays over 2^31-1 ms (about 24.8 days).
  OLLAMA_TIMEOUT_MS: z.coerce.number().int().positive().max(2_147_483_647).default(300_000),
  OLLAMA_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  OLLAMA_VERSION: z
    .string()
    .trim()
    .regex(/^v?\d+\.\d+(\.\d+)?([-+].*)?$/, 'expected a version such as 0.34.1')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'expected postgres://user:password@host:5432/database' })
    .optional(),
  CODEX_PATH: z.string().min(1).default('./codex.toml'),
  CONVERGENCE_THRESHOLD: fraction(0.3),
  MAX_TURNS: z.coerce.number().int().min(1).max(50).default(3),
  HIGH_DISSONANCE: fraction(0.8),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  LOG_FORMAT: z.enum(LOG_FORMATS).optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  EMBED_MODEL: z.string().trim().min(1).optional(),
  // The older name of EMBED_MODEL, from when Ollama served every model: still read.
  OLLAMA_EMBED_MODEL: z.string().trim().min(1).default('nomic-embed-text'),
  LLM_PROVIDER: z.enum(LLM_PROVIDERS).default('ollama'),
  STREAM_TURNS: flag(true),
  EMBED_PROVIDER: z.enum(LLM_PROVIDERS).optional(),
  OPENAI_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  OPENAI_API_KEY: z.string().trim().min(1).optional(),
  MEMORY_RECALL_K: z.coerce.number().int().min(0).max(20).default(3),
  MEMORY_SIMILARITY_FLOOR: fraction(0.5),
  LLM_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  DISCORD_TOKEN: z.string().optional(),
  DISCORD_API_URL: z.url({ protocol: /^https?$/ }).default('https://discord.com/api'),
  DISCORD_GUILD_ID: snowflake('server'),
  ARCHITECT_ROLE: z.string().min(1).default('architect'),
  ATTACHMENT_MAX_BYTES: z.coerce.number().int().min(1).default(100_000),
  MEMBER_RUNS_PER_HOUR: z.coerce.number().int().min(0).max(10_000).default(30),
  FORGE_DIR: z.string().min(1).default('./forge/tools'),
  FORGE_OPEN_TO_ALL: flag(false),
  LOG_CHANNEL_ID: snowflake('channel'),
  SANDBOX_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  SANDBOX_MEMORY_MB: z.coerce.number().int().min(4).max(1024).default(32),
  TOOLS_OFFERED: z.coerce.number().int().min(0).max(20).default(3),
  TOOL_REUSE_SIMILARITY: fraction(0.9),
  GOVERNANCE_CHANNEL_ID: snowflake('channel'),
  AMENDMENT_MIN_EVENTS: z.coerce.number().int().min(1).max(100).default(3),
  AMENDMENT_WINDOW: duration('24h'),
  AMENDMENT_MIN_MEMBERS: z.coerce.number().int().min(1).max(100).default(2),
  AUTONOMY_CRON: cronSetting('AUTONOMY_CRON').optional(),
  AUTONOMY_CHANNEL_ID: snowflake('channel'),
  FINETUNE_CRON: cronSetting('FINETUNE_CRON').default('0 3 * * *'),
  FINETUNE_TRIGGER_SIZE: z.coerce.number().int().min(1).max(1_000_000).default(200),
  FINETUNE_HOLDOUT: z.coerce.number().gt(0).max(0.5).default(0.1),
  FINETUNE_COMMAND: z.string().trim().min(1).default('python3 forge/finetune/train.py'),
  FINETUNE_CONFIG: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      if (value === undefined) return;
      try {
        const parsed: unknown = JSON.parse(value);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: 'expected a JSON object of trainer settings, e.g. {"max_steps": 120}',
        });
      }
    }),
  FINETUNE_TIMEOUT: duration('6h'),
  FINETUNE_PROMOTE_RULE: z.enum(['lower-bound', 'majority']).default('lower-bound'),
  FINETUNE_PROMOTION: z.enum(['auto', 'architect']).default('architect'),
  FINETUNE_EXCLUSIVE: flag(true),
  FINETUNE_EVAL_PROMPTS: z.coerce.number().int().min(1).max(500).default(20),
  FINETUNE_QUANTIZE: z.enum(['q4_K_M', 'q4_K_S', 'q8_0', 'none']).default('q4_K_M'),
  FINETUNE_SHARED_DIR: z.string().trim().min(1).optional(),
  FINETUNE_ENV: envNamesSetting(),
  AUTONOMY_MAX_PER_DAY: z.coerce.number().int().min(0).max(100).default(3),
  AUTONOMY_IDLE_MINUTES: z.coerce.number().min(0).max(10_080).default(30),
  CURATION_CRON: cronSetting('CURATION_CRON').default('0 * * * *'),
  CURATION_BATCH: z.coerce.number().int().min(1).max(1000).default(20),
  CURATION_THRESHOLD: z.coerce.number().min(0).max(5).default(4),
  CURATION_ANCHOR_SIZE: z.coerce.number().int().min(0).max(100_000).default(50),
  CURATION_SCOPE: z.enum(CURATION_SCOPES).default('public'),
  CURATION_MEMBER_DAILY: z.coerce.number().int().min(0).max(100_000).default(20),
  FINETUNE_MEMBER_SHARE: z.coerce.number().gt(0).max(1).default(0.25),
  ...shardingFields,
});

export type EnvKey = keyof typeof envSchema.shape;
export const ENV_KEYS = Object.keys(envSchema.shape) as EnvKey[];

/** Sharding (`SHARD_COUNT`, `SHARDS`) and the shared REST proxy are in `shardingConfig.ts`. */
export interface Config extends ShardingConfig {
  /** Base URL of the Ollama server, e.g. `http://127.0.0.1:11434` (a persona's `hosts` in the codex replace it for that persona). */
  readonly ollamaHost: string;
  /** Deadline for one model call, in milliseconds (default 300000). */
  readonly ollamaTimeoutMs: number;
  /** Tries after the first when Ollama is busy, restarting or failing with a 5xx (default 3; waits 0.5 s, 1 s, 2 s…). */
  readonly ollamaRetries: number;
  /** The Ollama version to believe instead of the server's answer (for a server that misreports). */
  readonly ollamaVersion: string | undefined;
  /** Folder for all state (checkpoints, logs, datasets); default `./data`. */
  readonly dataDir: string;
  /** PostgreSQL for every store (`postgres://…`), shared by several processes; unset: SQLite files under `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Path of the constitution; default `./codex.toml`. */
  readonly codexPath: string;
  /** The Socratic loop stops once ROBIN's dissonance is at or below this (0–1, default 0.3). */
  readonly convergenceThreshold: number;
  /** Most BRICK⇄ROBIN rounds per run (default 3). */
  readonly maxTurns: number;
  /** A final dissonance above this publishes `high_cognitive_dissonance` (0–1, default 0.8). */
  readonly highDissonance: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** `json` or `pretty` when forced; unset, the logger picks by where it writes (`pickLogFormat`). */
  readonly logFormat: LogFormat | undefined;
  /** Where Prometheus metrics (`/metrics`) and the health check (`/healthz`) are served; off when unset. */
  readonly metricsPort: number | undefined;
  /** The address they listen on (default 127.0.0.1; 0.0.0.0 in a container). */
  readonly metricsHost: string;
  /** The model that embeds dialogues for memory, on the embedding provider (default `nomic-embed-text`). */
  readonly embedModel: string;
  /** Whether persona turns appear as they are written (edited in place) rather than when finished. */
  readonly streamTurns: boolean;
  /** Who serves the personas' models unless the codex names another for a persona (default `ollama`). */
  readonly llmProvider: LlmProvider;
  /** Who serves the embedding model (default: `llmProvider`). */
  readonly embedProvider: LlmProvider;
  /** An OpenAI-compatible server's base URL, with its `/v1` (vLLM, llama.cpp, LM Studio, LiteLLM, a hosted API). */
  readonly openaiBaseUrl: string | undefined;
  /** Its API key, sent as a bearer token; a secret, never logged. */
  readonly openaiApiKey: string | undefined;
  /** Past dialogues recalled into ALFRED's plan (default 3; 0 turns recall off). */
  readonly memoryRecallK: number;
  /** Least cosine similarity for a past dialogue to be recalled (0–1, default 0.5). */
  readonly memorySimilarityFloor: number;
  /**
   * Most model calls in flight at once on each model server (default 1, as Ollama serves), across
   * all dialogues: a persona with several `hosts` in the codex may have this many on each.
   */
  readonly llmConcurrency: number;
  /** The bot's token; only `npm start` needs it. */
  readonly discordToken: string | undefined;
  /** Discord's REST base (the gateway is found through it); default `https://discord.com/api`. */
  readonly discordApiUrl: string;
  /** Where `npm run deploy-commands` registers the commands; globally when unset. */
  readonly discordGuildId: string | undefined;
  /** Name or id of the role whose members may govern the bot (default `architect`). */
  readonly architectRole: string;
  /** Dialogues one member may start or continue per hour (default 30; 0: no limit). */
  readonly memberRunsPerHour: number;
  /** Largest text attachment read as part of a task, in bytes (default 100000). */
  readonly attachmentMaxBytes: number;
  /** Where forged tools live (default `./forge/tools`). */
  readonly forgeDir: string;
  /** Whether everyone may run `/tools forge` (default false: the architect role only). */
  readonly forgeOpenToAll: boolean;
  /** Channel that also gets every new-tool card; none when unset. */
  readonly logChannelId: string | undefined;
  /** Deadline of one sandboxed tool call, in milliseconds (default 1000). */
  readonly sandboxTimeoutMs: number;
  /** Memory limit of one sandboxed tool call, in MB (default 32). */
  readonly sandboxMemoryMb: number;
  /** Registered tools offered to the personas per dialogue (default 3; 0 offers none). */
  readonly toolsOffered: number;
  /** Similarity at which a stored tool is reused instead of forging a new one (default 0.9). */
  readonly toolReuseSimilarity: number;
  /** Where codex amendment proposals are posted, with their buttons. */
  readonly governanceChannelId: string | undefined;
  /** Dissonant dialogues within the window that trigger a proposal (default 3). */
  readonly amendmentMinEvents: number;
  /** The window for persistent dissonance, in milliseconds (default 24 h). */
  readonly amendmentWindowMs: number;
  /** Different members whose dialogues those must be (default 2): one member alone never triggers one. */
  readonly amendmentMinMembers: number;
  /** When the motivator may start a reflective dialogue (cron); off when unset. */
  readonly autonomyCron: string | undefined;
  /** Where the motivator's reflective dialogues happen. */
  readonly autonomyChannelId: string | undefined;
  /** Most reflective dialogues per day (default 3). */
  readonly autonomyMaxPerDay: number;
  /** Minutes without human activity before the bot counts as idle (default 30). */
  readonly autonomyIdleMinutes: number;
  /** When the curation job judges new dialogues (cron; default hourly, `0 * * * *`). */
  readonly curationCron: string;
  /** Most dialogues one curation run judges (default 20): one tick never hogs the model queue. */
  readonly curationBatch: number;
  /** Least rubric score (0–5) for a persona's turns to become golden samples (default 4). */
  readonly curationThreshold: number;
  /** How many of each persona's first golden samples are frozen as its anchor set (default 50; 0: none). */
  readonly curationAnchorSize: number;
  /** Which dialogues may become golden samples: `public` (default), `home` or `all` (README, "What the personas learn from"). */
  readonly curationScope: CurationScope;
  /** Most golden samples one member's dialogues may add per UTC day (default 20; 0: no cap). */
  readonly curationMemberDaily: number;
  /** Largest share of a fine-tune's dataset from one member (default 0.25; 1: no cap). */
  readonly finetuneMemberShare: number;
  /** When the fine-tune job looks for a persona whose golden set has grown (cron; default nightly `0 3 * * *`). */
  readonly finetuneCron: string;
  /** New golden samples since a persona's last fine-tune that start the next (default 200). */
  readonly finetuneTriggerSize: number;
  /** Share of the golden set held out for the evaluation, never trained on (default 0.1). */
  readonly finetuneHoldout: number;
  /** The trainer's command line, before its arguments (default `python3 forge/finetune/train.py`). */
  readonly finetuneCommand: string;
  /** Trainer settings passed as `--config` (a JSON object), if any. */
  readonly finetuneConfig: string | undefined;
  /** Longest a training may run, in milliseconds (default 6 h). */
  readonly finetuneTimeoutMs: number;
  /** How a candidate must beat the model in force (default `lower-bound`). */
  readonly finetunePromoteRule: 'lower-bound' | 'majority';
  /** Whether a better candidate waits for the architect's Promote (`architect`, the default) or is swapped in at once (`auto`). */
  readonly finetunePromotion: 'auto' | 'architect';
  /** Whether dialogues wait while the trainer has the GPU (default true: one GPU for both). */
  readonly finetuneExclusive: boolean;
  /** Held-out prompts a persona's frozen exam grows to, and the most one evaluation answers (default 20). */
  readonly finetuneEvalPrompts: number;
  /** How a merged model is quantized when Ollama imports it (default `q4_K_M`; `none`: fp16). */
  readonly finetuneQuantize: 'q4_K_M' | 'q4_K_S' | 'q8_0' | 'none';
  /** Where the model server sees `DATA_DIR/finetune` (vLLM's `lora_path`); unset: the same path. */
  readonly finetuneSharedDir: string | undefined;
  /** Names the trainer's environment gets besides what training needs (`NAME`, or `PREFIX_*`). */
  readonly finetuneEnv: readonly string[];
}

/**
 * Parses the environment once and freezes the result. Throws an `AppError` (CONFIG_INVALID)
 * that lists every problem, not just the first.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  // An empty `KEY=` line in .env means "use the default", as it does for most tools.
  const present = Object.fromEntries(
    ENV_KEYS.map((key) => [key, env[key]?.trim() ? env[key]?.trim() : undefined]),
  );
  const result = envSchema.safeParse(present);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? '');
        const got = key in present && present[key] !== undefined ? ` (got "${present[key]}")` : '';
        return `  - ${key}: ${issue.message}${got}`;
      });
  for (const key of ['LLM_PROVIDER', 'EMBED_PROVIDER'] as const) {
    if (present[key] === 'openai' && !present.OPENAI_BASE_URL) {
      problems.push(
        `  - OPENAI_BASE_URL: ${key}=openai needs the server's URL, e.g. http://127.0.0.1:8000/v1`,
      );
    }
  }
  problems.push(...shardingProblems(present));
  if (!result.success || problems.length) {
    throw new AppError(
      'CONFIG_INVALID',
      'user',
      `Invalid configuration (environment or .env):\n${problems.join('\n')}\nSee .env.example for every setting and its default.`,
    );
  }
  const e = result.data;
  return Object.freeze({
    ollamaHost: e.OLLAMA_HOST,
    ollamaTimeoutMs: e.OLLAMA_TIMEOUT_MS,
    ollamaRetries: e.OLLAMA_RETRIES,
    ollamaVersion: e.OLLAMA_VERSION,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    codexPath: e.CODEX_PATH,
    convergenceThreshold: e.CONVERGENCE_THRESHOLD,
    maxTurns: e.MAX_TURNS,
    highDissonance: e.HIGH_DISSONANCE,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
    embedModel: e.EMBED_MODEL ?? e.OLLAMA_EMBED_MODEL,
    llmProvider: e.LLM_PROVIDER,
    streamTurns: e.STREAM_TURNS,
    embedProvider: e.EMBED_PROVIDER ?? e.LLM_PROVIDER,
    openaiBaseUrl: e.OPENAI_BASE_URL?.replace(/\/+$/, ''),
    openaiApiKey: e.OPENAI_API_KEY,
    memoryRecallK: e.MEMORY_RECALL_K,
    memorySimilarityFloor: e.MEMORY_SIMILARITY_FLOOR,
    llmConcurrency: e.LLM_CONCURRENCY,
    discordToken: e.DISCORD_TOKEN,
    discordApiUrl: e.DISCORD_API_URL.replace(/\/+$/, ''),
    discordGuildId: e.DISCORD_GUILD_ID,
    architectRole: e.ARCHITECT_ROLE,
    attachmentMaxBytes: e.ATTACHMENT_MAX_BYTES,
    memberRunsPerHour: e.MEMBER_RUNS_PER_HOUR,
    forgeDir: e.FORGE_DIR,
    forgeOpenToAll: e.FORGE_OPEN_TO_ALL,
    logChannelId: e.LOG_CHANNEL_ID,
    sandboxTimeoutMs: e.SANDBOX_TIMEOUT_MS,
    sandboxMemoryMb: e.SANDBOX_MEMORY_MB,
    toolsOffered: e.TOOLS_OFFERED,
    toolReuseSimilarity: e.TOOL_REUSE_SIMILARITY,
    governanceChannelId: e.GOVERNANCE_CHANNEL_ID,
    amendmentMinEvents: e.AMENDMENT_MIN_EVENTS,
    amendmentWindowMs: e.AMENDMENT_WINDOW,
    amendmentMinMembers: e.AMENDMENT_MIN_MEMBERS,
    autonomyCron: e.AUTONOMY_CRON,
    autonomyChannelId: e.AUTONOMY_CHANNEL_ID,
    autonomyMaxPerDay: e.AUTONOMY_MAX_PER_DAY,
    autonomyIdleMinutes: e.AUTONOMY_IDLE_MINUTES,
    curationCron: e.CURATION_CRON,
    curationBatch: e.CURATION_BATCH,
    curationThreshold: e.CURATION_THRESHOLD,
    curationAnchorSize: e.CURATION_ANCHOR_SIZE,
    curationScope: e.CURATION_SCOPE,
    curationMemberDaily: e.CURATION_MEMBER_DAILY,
    finetuneMemberShare: e.FINETUNE_MEMBER_SHARE,
    finetuneCron: e.FINETUNE_CRON,
    finetuneTriggerSize: e.FINETUNE_TRIGGER_SIZE,
    finetuneHoldout: e.FINETUNE_HOLDOUT,
    finetuneCommand: e.FINETUNE_COMMAND,
    finetuneConfig: e.FINETUNE_CONFIG,
    finetuneTimeoutMs: e.FINETUNE_TIMEOUT,
    finetunePromoteRule: e.FINETUNE_PROMOTE_RULE,
    finetunePromotion: e.FINETUNE_PROMOTION,
    finetuneExclusive: e.FINETUNE_EXCLUSIVE,
    finetuneEvalPrompts: e.FINETUNE_EVAL_PROMPTS,
    finetuneQuantize: e.FINETUNE_QUANTIZE,
    finetuneSharedDir: e.FINETUNE_SHARED_DIR,
    finetuneEnv: e.FINETUNE_ENV,
    ...shardingConfig(e),
  });
}

/** The environment as it is now: the trainer takes what it needs of it when it starts (`trainerEnv.ts`). */
export const processEnvironment = (): Readonly<Record<string, string | undefined>> => process.env;

/** Reads `.env` (if present) into the environment without overriding what is already set. */
export function loadDotEnv(path = '.env'): void {
  loadDotEnvFile({ path, quiet: true });
}
