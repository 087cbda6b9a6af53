import { join, resolve } from 'node:path';
import { keepsFormat } from '../../graph/formats.ts';
import { systemPromptFor } from '../../graph/prompts.ts';
import type { Clock } from '../../services/clock.ts';
import { type Config, processEnvironment } from '../../services/config.ts';
import { type Curation, createCuration } from '../../services/curation/curation.ts';
import { CurationLedger } from '../../services/curation/curationLedger.ts';
import type { GoldenReader } from '../../services/curation/goldenStore.ts';
import { openGoldenStore } from '../../services/curation/openGoldenStore.ts';
import type { ReactionStore } from '../../services/curation/reactions.ts';
import type { StoreLocation } from '../../services/db/openStoreDatabase.ts';
import { dropped, storeLocation } from '../../services/db/openStoreDatabase.ts';
import type { ProcessOwner } from '../../services/db/processOwner.ts';
import type { EventBus } from '../../services/eventBus.ts';
import { createFineTuner, type FineTuner } from '../../services/finetune/fineTuner.ts';
import { FinetuneStore } from '../../services/finetune/finetuneStore.ts';
import { createOllamaRegistrar } from '../../services/finetune/ollamaRegistrar.ts';
import { createOpenAIRegistrar } from '../../services/finetune/openaiRegistrar.ts';
import type { ModelRegistrar, RegistrarAt, Registrars } from '../../services/finetune/registrar.ts';
import { type Amendments, createAmendments } from '../../services/governance/amendments.ts';
import type { ProposalStore } from '../../services/governance/proposalStore.ts';
import type { LlmProvider } from '../../services/llm/chatModel.ts';
import { type Limiter, serverKey } from '../../services/llm/limiter.ts';
import type { Providers } from '../../services/llm/providers.ts';
import type { Logger } from '../../services/logger.ts';
import type { Memory } from '../../services/memory/memory.ts';
import type { CodexState } from './codexState.ts';

/** What the three learning loops are built from. */
export interface LoopParts {
  config: Config;
  logger: Logger;
  clock: Clock;
  bus: EventBus;
  codex: CodexState;
  memory: Memory;
  providers: Providers;
}

/**
 * The philosophical loop: codex amendments, drafted by ALFRED and ratified only by the architect.
 * `owner` names this process in the drafts and approvals it begins (`processOwner.ts`).
 */
export function composeAmendments(
  parts: LoopParts,
  store: ProposalStore,
  owner: ProcessOwner,
): Promise<Amendments> {
  const { config, codex } = parts;
  return createAmendments({
    store,
    owner,
    records: parts.memory,
    modelFor: parts.providers.modelFor,
    systemPrompt: (id) => systemPromptFor(codex.personas().get(id), codex.personas().corePrinciples),
    codex: codex.codex,
    codexPath: config.codexPath,
    dataDir: config.dataDir,
    applyCodex: codex.apply,
    bus: parts.bus,
    clock: parts.clock,
    logger: parts.logger,
    settings: {
      minEvents: config.amendmentMinEvents,
      minMembers: config.amendmentMinMembers,
      windowMs: config.amendmentWindowMs,
      highDissonance: config.highDissonance,
    },
  });
}

/**
 * The curation loop: judges finished dialogues into each persona's golden dataset. Its ledger and
 * sets are where the other stores are (`DATA_DIR`, or PostgreSQL with `DATABASE_URL`).
 */
export async function composeCuration(
  parts: LoopParts,
  deps: { reactions: ReactionStore; location: StoreLocation },
): Promise<{ curation: Curation; golden: GoldenReader }> {
  const { config, clock, logger, codex } = parts;
  const ledger = await CurationLedger.open(deps.location);
  const golden = await openGoldenStore(deps.location, {
    dir: join(config.dataDir, 'golden'),
    anchorSize: config.curationAnchorSize,
    clock,
    logger,
  }).catch(async (error: unknown) => {
    await ledger.close();
    throw error;
  });
  const curation = createCuration({
    records: parts.memory,
    people: {
      reactions: deps.reactions,
      recordsOf: (conversationId) => parts.memory.records(conversationId),
    },
    modelFor: parts.providers.modelFor,
    personas: codex.personas,
    judge: () => codex.codex().data.curation,
    ledger,
    formatOk: keepsFormat,
    golden,
    clock,
    logger,
    options: {
      batch: config.curationBatch,
      threshold: config.curationThreshold,
      scope: config.curationScope,
      memberDaily: config.curationMemberDaily,
    },
  });
  return { curation, golden };
}

/** The registrar of one server of a provider, at its base URL. */
function registrarFor(config: Config, provider: LlmProvider, address: string): ModelRegistrar {
  return provider === 'ollama'
    ? createOllamaRegistrar({
        host: address,
        timeoutMs: config.ollamaTimeoutMs,
        version: config.ollamaVersion,
        quantize: config.finetuneQuantize,
      })
    : createOpenAIRegistrar({
        baseUrl: address,
        apiKey: config.openaiApiKey,
        timeoutMs: config.ollamaTimeoutMs,
        // Where runJob puts each job's folder (its trainer output inside).
        localDir: resolve(config.dataDir, 'finetune'),
        sharedDir: config.finetuneSharedDir,
      });
}

/**
 * How each server takes a fine-tuned model: Ollama by its version (adapter or merged model),
 * an OpenAI-compatible server by vLLM's runtime LoRA routes when OPENAI_BASE_URL is set.
 */
export function composeRegistrars(config: Config): Registrars {
  return {
    ollama: registrarFor(config, 'ollama', config.ollamaHost),
    ...(config.openaiBaseUrl ? { openai: registrarFor(config, 'openai', config.openaiBaseUrl) } : {}),
  };
}

/**
 * The registrar at each of a persona's `hosts`, made once per server (the same settings as the
 * provider's own: `OLLAMA_VERSION`, `FINETUNE_SHARED_DIR`, the API key), and the provider's own
 * where a host is its URL, so that each server is asked once.
 */
export function composeRegistrarAt(config: Config, registrars: Registrars): RegistrarAt {
  const made = new Map<string, ModelRegistrar>();
  return (provider, address) => {
    const url = serverKey(address);
    const home = provider === 'ollama' ? config.ollamaHost : config.openaiBaseUrl;
    const own = registrars[provider];
    if (own && home !== undefined && serverKey(home) === url) return own;
    const key = `${provider} ${url}`;
    const registrar = made.get(key) ?? registrarFor(config, provider, url);
    made.set(key, registrar);
    return registrar;
  };
}

/** The fine-tune record where the settings put the stores, its view of the models in force read. */
export function openFinetuneStore(config: Config, logger: Logger, clock: Clock): Promise<FinetuneStore> {
  return FinetuneStore.open(storeLocation(config, dropped(logger)), {
    clock,
    onError: (err) => logger.warn({ err }, 'could not refresh the models in force'),
  });
}

/**
 * The strategic loop: fine-tunes a persona on its golden set, evaluates, and swaps. `owner` names
 * this process in the jobs it runs (`processOwner.ts`).
 */
export function composeFineTuner(
  parts: LoopParts,
  deps: {
    store: FinetuneStore;
    curation: Curation;
    golden: GoldenReader;
    limiter: Limiter;
    owner: ProcessOwner;
  },
): Promise<FineTuner> {
  const { config, codex, providers } = parts;
  const registrars = composeRegistrars(config);
  return createFineTuner({
    store: deps.store,
    owners: deps.owner,
    dataDir: config.dataDir,
    personas: codex.personas,
    modelFor: providers.modelFor,
    providerOf: providers.of,
    golden: deps.golden,
    goldenCount: async (persona) =>
      (await deps.curation.sizes()).find((s) => s.persona === persona)?.samples ?? 0,
    registrars,
    registrarAt: composeRegistrarAt(config, registrars),
    limiter: deps.limiter,
    formatOk: keepsFormat,
    systemPrompt: (id) => systemPromptFor(codex.personas().get(id), codex.personas().corePrinciples),
    bus: parts.bus,
    clock: parts.clock,
    logger: parts.logger,
    settings: {
      command: config.finetuneCommand,
      ...(config.finetuneConfig
        ? { config: JSON.parse(config.finetuneConfig) as Record<string, unknown> }
        : {}),
      timeoutMs: config.finetuneTimeoutMs,
      holdout: config.finetuneHoldout,
      triggerSize: config.finetuneTriggerSize,
      rule: config.finetunePromoteRule,
      promotion: config.finetunePromotion,
      exclusive: config.finetuneExclusive,
      evalPrompts: config.finetuneEvalPrompts,
      scope: config.curationScope,
      memberShare: config.finetuneMemberShare,
      env: config.finetuneEnv,
      judge: () => codex.codex().data.curation,
    },
    environment: processEnvironment,
  });
}
