import type { Client } from 'discord.js';
import type { Dialogue } from '../graph/dialogue.ts';
import type { AppStore } from '../services/appStore.ts';
import type { Clock } from '../services/clock.ts';
import type { Codex } from '../services/codex/loadCodex.ts';
import type { Config } from '../services/config.ts';
import type { Curation } from '../services/curation/curation.ts';
import type { CurationRunNow } from '../services/curation/curationJob.ts';
import type { ReactionStore } from '../services/curation/reactions.ts';
import type { EventBus } from '../services/eventBus.ts';
import type { FineTuner } from '../services/finetune/fineTuner.ts';
import type { Forgetting } from '../services/forgetting/forgetting.ts';
import type { Amendments } from '../services/governance/amendments.ts';
import type { LlmProvider } from '../services/llm/chatModel.ts';
import type { Limiter } from '../services/llm/limiter.ts';
import type { ProviderHealth } from '../services/llm/providers.ts';
import type { Logger } from '../services/logger.ts';
import type { Memory } from '../services/memory/memory.ts';
import type { PersonaRegistry } from '../services/personas.ts';
import type { Scheduler } from '../services/scheduler.ts';
import type { ToolForge } from '../services/tools/toolPorts.ts';
import type { ToolService } from '../services/tools/toolService.ts';
import type { ArchitectGate } from './access/architects.ts';
import type { ChannelAccess } from './access/channelAccess.ts';
import type { HumanActivity } from './activity.ts';
import type { DialogueRunner } from './dialogue/dialogueRunner.ts';
import type { DialogueStarter } from './dialogue/startDialogue.ts';
import type { BotThreads } from './dialogue/threads.ts';
import type { GovernanceUi } from './governance/governanceUi.ts';
import type { CommandInfo } from './interactions/commandCall.ts';

/**
 * Everything a handler, a command or a job of the bot may be given. No consumer receives all of
 * it: each declares the few ports it uses (`Pick<BotPorts, 'memory' | 'architects'>`), so a unit
 * test builds it from those fakes alone. Only `createBot` holds the whole set, to hand out.
 */
export interface BotPorts {
  readonly client: Client;
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  /** When the bot started, ms since the epoch. */
  readonly startedAt: number;
  readonly store: AppStore;
  readonly runner: DialogueRunner;
  readonly threads: BotThreads;
  /** Opens a thread and runs a dialogue in it: mentions, `/ask` and the motivator. */
  readonly dialogues: DialogueStarter;
  readonly architects: ArchitectGate;
  /** Who can read which channel: memory never crosses it. */
  readonly access: ChannelAccess;
  readonly activity: HumanActivity;
  readonly governance: GovernanceUi;
  readonly bus: EventBus;
  /** The conversations (forget, stored turns). */
  readonly dialogue: Dialogue;
  readonly memory: Memory;
  readonly amendments: Amendments;
  readonly tools: ToolService;
  readonly toolForge: ToolForge;
  readonly personas: () => PersonaRegistry;
  readonly codex: () => Codex;
  readonly scheduler: Scheduler;
  /** The golden datasets: show, sizes, forget. */
  readonly curation: Curation;
  /** Which posts are which persona turns, and people's 👍 and 👎 on them. */
  readonly reactions: ReactionStore;
  /** Runs the curation job now, as a tick would (`/curate run`). */
  readonly curationJob: { runNow(): Promise<CurationRunNow> };
  readonly limiter: Limiter;
  readonly fineTuner: FineTuner;
  /** `/memory forget` everywhere else a dialogue's words are kept. */
  readonly forgetting: Forgetting;
  readonly health: HealthProbe;
  /** The slash commands, for `/help`. */
  readonly commandList: () => readonly CommandInfo[];
}

/** What `/status` checks: the model servers and the data folder. */
export interface HealthProbe {
  /** Each server that serves a persona or the embeddings: its version and models, or its error. */
  models(): Promise<ProviderHealth[]>;
  /** Who serves a persona's model now. */
  providerOf(personaId: string): LlmProvider;
  /** Whether a server's model list has a model. */
  hasModel(provider: LlmProvider, models: readonly string[], model: string): boolean;
  /** Bytes used by a path under the data folder (recursively). */
  diskUsage(path: string): Promise<number>;
}
