import type { ChatMessage, ChatModel } from '../services/llm/chatModel.ts';
import type { ToolCallOutcome, ToolInfo } from '../services/tools/toolPorts.ts';
import {
  type ContextLimits,
  DEFAULT_CONTEXT_LIMITS,
  earlierRunsText,
  summarizeEarlierRuns,
} from './context.ts';
import type { NodeDeps } from './deps.ts';
import type { ThinkingEvent } from './events.ts';
import { parseToolCall, streamingPreview } from './parsing.ts';
import { systemPromptFor, toolResultPrompt, toolsSection } from './prompts.ts';
import { conversationOf, type DialogueNodeConfig, toolScopeOf } from './runContext.ts';
import type { DialogueStateValue, NodeName, ToolCallRecord } from './state.ts';

// A persona's turn, as LangGraph keeps its ToolNode apart from the nodes that call tools: the
// model's answer, then each tool it calls and the result fed back, until it answers for good.

/** What a persona said in one turn, and how. */
export interface Spoken {
  text: string;
  model: ChatModel;
  /** The system prompt it was given, as sent. */
  system: string;
  /** The prompt it answered, its tools section included. */
  prompt: string;
  /** Its tool calls and their results, as sent between the prompt and its final words. */
  exchange: ChatMessage[];
  toolCalls: ToolCallRecord[];
  warnings: string[];
  /**
   * Text it was shown that is not its own (the task, earlier runs, tool results and descriptions,
   * the forge's answers, memories): control lines copied from it never count.
   */
  foreign: string[];
}

/** Who speaks, where in the graph, and what it is asked. */
export interface Speech {
  personaId: string;
  node: NodeName;
  prompt: string;
  /** Foreign text beside the task and the run's tool results (ALFRED's recalled memories). */
  alsoForeign?: readonly string[];
}

/**
 * A tool's result as text a persona might copy: the JSON it returned, and every string inside
 * it as written (a newline in a returned string is a real newline once a persona repeats it).
 */
export function resultText(call: ToolCallRecord): string[] {
  if (call.output === undefined) return [call.error ?? ''];
  try {
    return [call.output, ...stringsIn(JSON.parse(call.output))];
  } catch {
    // Clipped JSON: the text itself is what the persona saw.
    return [call.output];
  }
}

/** Every string inside a JSON value, as written. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return value && typeof value === 'object' ? Object.values(value).flatMap(stringsIn) : [];
}

/**
 * An offered tool as the tools section shows it: its description and its schema (whose strings a
 * persona may repeat unescaped). Whoever forged it wrote them, maybe another member's dialogue.
 */
function toolText(tool: ToolInfo): string[] {
  return [tool.description, JSON.stringify(tool.inputSchema), ...stringsIn(tool.inputSchema)];
}

/**
 * The text a persona is shown that no persona wrote in this run: the task (with its attachments),
 * the earlier runs (whole, and as summarized within `limits`: a clipped line reads differently),
 * every tool result so far, the forge's answers, and what ALFRED's plan was shown (the past
 * dialogues recalled into it, the tools offered): the plan passes on to the others whatever of
 * it ALFRED repeats, so a line copied through it is still a copy.
 */
export function foreignText(
  state: DialogueStateValue,
  limits: Pick<ContextLimits, 'summaryChars'> = DEFAULT_CONTEXT_LIMITS,
): string[] {
  const earlier = earlierRunsText(state.turns, state.run);
  const thisRun = state.turns.filter((t) => t.run === state.run);
  return [
    state.task,
    ...earlier,
    ...(earlier.length ? [summarizeEarlierRuns(state.turns, state.run, limits.summaryChars)] : []),
    ...thisRun.flatMap((t) => (t.toolCalls ?? []).flatMap(resultText)),
    ...thisRun.flatMap((t) => (t.kind === 'tool' ? [t.content] : [])),
    ...thisRun.flatMap((t) => (t.kind === 'plan' && t.prompt ? [t.prompt] : [])),
  ];
}

/** The tools offered in this run, as the tool box knows them now. */
function offeredTools(deps: NodeDeps, state: DialogueStateValue, config: DialogueNodeConfig): ToolInfo[] {
  if (!deps.tools) return [];
  const scope = toolScopeOf(config);
  return (state.tools ?? []).flatMap((name) => deps.tools?.info(name, scope) ?? []);
}

async function callTool(
  deps: NodeDeps,
  personaId: string,
  reading: ReturnType<typeof parseToolCall>,
  config: DialogueNodeConfig,
): Promise<{ record: ToolCallRecord; outcome: ToolCallOutcome }> {
  const name = reading.name ?? '';
  config.writer?.({ type: 'tool_call', persona: personaId, tool: name });
  let outcome: ToolCallOutcome;
  if (reading.error) outcome = { ok: false, error: reading.error, ms: 0 };
  else if (!deps.tools) outcome = { ok: false, error: 'no tools are available in this deployment', ms: 0 };
  else
    outcome = await deps.tools.call(name, reading.input, {
      ...toolScopeOf(config),
      ...(config.signal ? { signal: config.signal } : {}),
    });
  const record: ToolCallRecord = {
    tool: name,
    input: reading.input ?? null,
    ok: outcome.ok,
    ms: outcome.ms,
  };
  if (outcome.ok) record.output = outcome.json.slice(0, deps.settings.toolResultChars);
  else record.error = outcome.error;
  config.writer?.({ type: 'tool_result', persona: personaId, call: record });
  deps.log.info(
    {
      conversationId: conversationOf(config),
      persona: personaId,
      tool: name,
      ok: outcome.ok,
      ms: outcome.ms,
    },
    'persona called a tool',
  );
  return { record, outcome };
}

/**
 * Asks the model for the persona's answer to the messages so far. On a streamed run each piece
 * of the answer updates what may be shown of it, and every ask starts those words afresh.
 */
function askerFor(
  model: ChatModel,
  messages: ChatMessage[],
  speech: Pick<Speech, 'personaId' | 'node'>,
  config: DialogueNodeConfig,
): () => Promise<string> {
  const { personaId: persona, node } = speech;
  const streaming = config.context?.streamTurns === true;
  let raw = '';
  let shown = '';
  const show = (text: string) => {
    if (text === shown) return;
    shown = text;
    config.writer?.({ type: 'partial', persona, node, text });
  };
  const onToken = (piece: string) => {
    raw += piece;
    show(streamingPreview(raw));
  };
  return () => {
    raw = '';
    if (streaming) show('');
    return model.invoke(messages, {
      ...(config.signal ? { signal: config.signal } : {}),
      ...(streaming ? { onToken } : {}),
      onQueued: (position, reason) =>
        config.writer?.({ type: 'queued', persona, position, ...(reason ? { reason } : {}) }),
    });
  };
}

/**
 * One persona's turn: its prompt (with the tools it may call), then as many tool calls as it
 * makes, up to the limit, each result fed back before it answers.
 */
export async function speak(
  deps: NodeDeps,
  speech: Speech,
  state: DialogueStateValue,
  config: DialogueNodeConfig,
): Promise<Spoken> {
  const { personaId, node } = speech;
  const registry = deps.personas();
  const persona = registry.get(personaId);
  const model = deps.modelFor(personaId);
  const offered = offeredTools(deps, state, config);
  const prompt = [speech.prompt, toolsSection(offered)].filter(Boolean).join('\n\n');
  const thinking: ThinkingEvent = { type: 'thinking', persona: personaId, node };
  config.writer?.(thinking);
  const started = deps.clock.now();
  const messages: ChatMessage[] = [
    { role: 'system', content: systemPromptFor(persona, registry.corePrinciples) },
    { role: 'user', content: prompt },
  ];
  const ask = askerFor(model, messages, speech, config);
  let text = await ask();
  const toolCalls: ToolCallRecord[] = [];
  const warnings: string[] = [];
  const foreign = [
    ...foreignText(state, deps.settings.context),
    ...offered.flatMap(toolText),
    ...(speech.alsoForeign ?? []),
  ];
  const { maxToolCallsPerTurn, toolResultChars } = deps.settings;
  for (;;) {
    const reading = parseToolCall(text, { foreign });
    if (reading.warning) warnings.push(`${personaId}: ${reading.warning}`);
    if (!reading.name) break;
    if (toolCalls.length >= maxToolCallsPerTurn) {
      warnings.push(
        `${personaId} called more than ${maxToolCallsPerTurn} tools in one turn; the rest were ignored`,
      );
      text = reading.display;
      break;
    }
    const { record, outcome } = await callTool(deps, personaId, reading, config);
    toolCalls.push(record);
    foreign.push(...resultText(record));
    messages.push(
      { role: 'assistant', content: text },
      { role: 'user', content: toolResultPrompt(record.tool, outcome, toolResultChars) },
    );
    config.writer?.(thinking);
    text = await ask();
  }
  deps.log.debug(
    {
      conversationId: conversationOf(config),
      persona: personaId,
      node,
      toolCalls: toolCalls.length,
      durationMs: deps.clock.now() - started,
    },
    'persona spoke',
  );
  const [system, , ...exchange] = messages;
  return {
    text: text.trim() || '(no answer)',
    model,
    system: system?.content ?? '',
    prompt,
    exchange,
    toolCalls,
    warnings,
    foreign,
  };
}
