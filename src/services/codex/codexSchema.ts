import { z } from 'zod';
import { LLM_PROVIDERS, type LlmProvider } from '../llm/chatModel.ts';

/** The personas the dialogue graph needs; a codex may define more. */
export const GRAPH_PERSONAS = ['ALFRED', 'BRICK', 'ROBIN'] as const;
export type GraphPersona = (typeof GRAPH_PERSONAS)[number];

const principle = z.string().trim().min(1, 'a principle cannot be empty').max(500);

/** Model options passed to Ollama as they are (Ollama's own snake_case names). */
export const modelOptionsSchema = z.strictObject({
  num_ctx: z.number().int().positive().optional(),
  num_predict: z.number().int().min(-2).optional(),
  top_k: z.number().int().positive().optional(),
  top_p: z.number().min(0).max(1).optional(),
  repeat_penalty: z.number().positive().optional(),
  repeat_last_n: z.number().int().min(-1).optional(),
  presence_penalty: z.number().optional(),
  frequency_penalty: z.number().optional(),
  seed: z.number().int().optional(),
});

const modelName = z
  .string()
  .trim()
  .regex(/^[\w.\-/]+(:[\w.-]+)?$/, 'expected a model name such as "llama3.1:8b"');

const personaId = z.string().regex(/^[A-Z][A-Z0-9_]{0,31}$/, 'persona ids are UPPER_CASE (e.g. ALFRED)');

const reactionEmoji = z
  .string()
  .trim()
  .min(1, 'an emoji cannot be empty')
  .max(100)
  .refine(
    (emoji) => !/\s/.test(emoji),
    'one emoji: a Unicode emoji, or a server emoji as <:name:id> or its name',
  );

/** `[curation] reactions`: the emoji members react with to vote a persona's post up or down. */
export const reactionsSchema = z
  .strictObject({ up: reactionEmoji, down: reactionEmoji })
  .refine((emoji) => emoji.up !== emoji.down, 'the up and down emoji must differ');

/** `[curation]`: who judges finished dialogues for the golden datasets. Optional: old codices stay valid. */
export const curationSchema = z
  .strictObject({
    /** The persona that judges (default ALFRED); it must be one of the codex's personas. */
    judge: personaId.default('ALFRED'),
    /**
     * A model for judging in place of the judge persona's own, e.g. a larger one (it judges at
     * temperature 0 either way). Default: the judge persona's `model`.
     */
    judge_model: modelName.optional(),
    /** Who serves `judge_model`: `ollama` or `openai`. Default: whoever serves the judge persona. */
    judge_provider: z.enum(LLM_PROVIDERS).optional(),
    /** The older name of `judge_model`, still read. */
    model: modelName.optional(),
    /** The emoji that vote on a persona's post (default 👍 and 👎). */
    reactions: reactionsSchema.optional(),
  })
  .refine((curation) => curation.model === undefined || curation.judge_model === undefined, {
    // Two names for one setting would leave a reader guessing which one is in force.
    message: '`model` is the older name of `judge_model`: keep one of them',
    path: ['model'],
  });

/** One of a persona's `hosts`: a model server's base URL. */
const hostUrl = z.url({
  protocol: /^https?$/,
  error:
    'each of `hosts` is a model server\'s http(s) URL, such as "http://gpu1:11434" (Ollama) or "http://gpu1:8000/v1"',
});

/** `hosts`: the model servers that share a persona's calls, each named once. */
const hostsSchema = z
  .array(hostUrl)
  .min(1, '`hosts` lists at least one model server (leave it out for OLLAMA_HOST or OPENAI_BASE_URL)')
  .max(32, '`hosts` lists at most 32 model servers')
  .refine(
    (hosts) => new Set(hosts.map((host) => host.replace(/\/+$/, ''))).size === hosts.length,
    '`hosts` names a model server twice',
  );

export const personaSchema = z.strictObject({
  /** Shown as the webhook username; Discord allows 1–80 characters without "clyde"/"discord". */
  display_name: z
    .string()
    .trim()
    .min(1)
    .max(80)
    .refine((name) => !/clyde|discord/i.test(name), 'Discord refuses names containing "clyde" or "discord"'),
  role: z.string().trim().min(1).max(200),
  /** A model name, `name[:tag]` (Ollama's, or the OpenAI-compatible server's). */
  model: modelName,
  /** Who serves `model` when it is not the `LLM_PROVIDER` setting: `ollama` or `openai`. */
  provider: z.enum(LLM_PROVIDERS).optional(),
  /**
   * The model servers that share the persona's calls, base URLs of its provider's kind (Ollama's
   * `http://gpu1:11434`; an OpenAI-compatible server's, with its `/v1`): each call goes to the one
   * with the least work in flight, and on to the next when one cannot be reached. Default: the
   * provider's one server (`OLLAMA_HOST`, `OPENAI_BASE_URL`).
   */
  hosts: hostsSchema.optional(),
  /**
   * The Hugging Face weights that match `model` (what a fine-tune trains on and Ollama applies
   * the adapter to). Without it the persona is not fine-tuned.
   */
  finetune_base: z
    .string()
    .trim()
    .regex(
      /^[\w.-]+\/[\w.-]+$/,
      'expected a Hugging Face model id such as "unsloth/Meta-Llama-3.1-8B-Instruct"',
    )
    .optional(),
  temperature: z.number().min(0).max(2),
  avatar_url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  system_prompt: z.string().trim().min(1).max(8000),
  principles: z.array(principle).min(1).max(50),
  options: modelOptionsSchema.default({}),
});

export const codexSchema = z
  .strictObject({
    /** Bumped by every ratified amendment. */
    version: z.number().int().positive(),
    name: z.string().trim().min(1).max(100).default('BAT OS'),
    core: z.strictObject({
      /** Principles no amendment may add to, remove or change. */
      principles: z.array(principle).min(1).max(50),
    }),
    personas: z.record(personaId, personaSchema),
    curation: curationSchema.default({ judge: 'ALFRED' }),
  })
  .superRefine((codex, ctx) => {
    for (const id of GRAPH_PERSONAS) {
      if (!codex.personas[id]) {
        ctx.addIssue({
          code: 'custom',
          path: ['personas'],
          message: `the dialogue needs a [personas.${id}] table`,
        });
      }
    }
    if (!codex.personas[codex.curation.judge]) {
      ctx.addIssue({
        code: 'custom',
        path: ['curation', 'judge'],
        message: `the judge must be one of the personas (${Object.keys(codex.personas).join(', ')})`,
      });
    }
  });

export type CodexData = z.infer<typeof codexSchema>;
export type PersonaData = z.infer<typeof personaSchema>;
export type ModelOptions = z.infer<typeof modelOptionsSchema>;
export type CurationSettings = z.infer<typeof curationSchema>;

/** The model that judges, and who serves it: what `[curation]` says, with its defaults applied. */
export interface JudgeModel {
  /** The judging persona (its options apply; its temperature is overridden to 0). */
  persona: string;
  model: string;
  /** Set only where `judge_provider` names one; otherwise the judge persona's provider serves it. */
  provider?: LlmProvider;
}

/**
 * The judge's model: `judge_model` (or its older name `model`), else the judge persona's model in
 * the codex, never a fine-tuned version of it (a judge must not drift with what it trains).
 */
export function judgeModelOf(
  curation: CurationSettings,
  codexModelOf: (personaId: string) => string,
): JudgeModel {
  return {
    persona: curation.judge,
    model: curation.judge_model ?? curation.model ?? codexModelOf(curation.judge),
    ...(curation.judge_provider ? { provider: curation.judge_provider } : {}),
  };
}
