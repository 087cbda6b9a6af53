import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { DialogueEvent } from '../../graph/dialogue.ts';
import type { NodeName } from '../../graph/state.ts';
import { describeToolCall } from '../../graph/toolCalls.ts';
import { findAppError } from '../../services/errors.ts';
import type { Runtime } from '../compose.ts';
import { CHAT_HELP, parseChatLine, unknownCommandHint } from './chatCommands.ts';
import { openCliRuntime } from './cliRuntime.ts';

const USAGE = `Usage: npm run chat -- [--conversation <id>]

Talk to ALFRED, BRICK and ROBIN in the terminal. Each line you type is the next message of one
conversation; with input from a pipe, each line is a message and the program ends with the input.

  --conversation <id>  continue a stored conversation (its id is printed when it starts)
  -h, --help           show this help

Settings come from the environment or .env (see .env.example).`;

interface Output {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  color: boolean;
}

const COLORS: Record<string, string> = { ALFRED: '36', BRICK: '33', ROBIN: '35', TOOL_FORGE: '32' };

function paint(output: Output, code: string | undefined, text: string): string {
  return output.color && code ? `\u001b[${code}m${text}\u001b[0m` : text;
}

function speakerName(persona: string): string {
  return persona === 'TOOL_FORGE' ? 'TOOL FORGE' : persona.toUpperCase();
}

/**
 * What a turn starts with: the speaker's name, ALFRED's plan marked as such, and his synthesis
 * under a heading of its own, on its own line: the answer is what a person looks for.
 */
function heading(output: Output, persona: string, node: NodeName): string {
  const paintName = (text: string) => paint(output, `1;${COLORS[persona] ?? '37'}`, text);
  if (node === 'alfred_synthesize') return `${paintName(`── ${speakerName(persona)}'s answer ──`)}\n`;
  if (node === 'alfred_plan') return `${paintName(`${speakerName(persona)} (plan):`)} `;
  return `${paintName(`${speakerName(persona)}:`)} `;
}

/** A streamed turn being written out: whose it is, and what of it is on the screen. */
interface Streaming {
  persona: string;
  printed: string;
}

/** What of the current turn is on the screen: its streamed words, the tool calls shown as they came back. */
interface Live {
  current?: Streaming | undefined;
  calls: { persona: string; count: number };
}

/** Prints one dialogue event; returns nothing, so the caller only drives the stream. */
function printEvent(
  event: DialogueEvent,
  output: Output,
  status: { clear(): void; show(text: string): void },
  live: Live,
): void {
  if (event.type === 'partial') {
    // Text only grows on a terminal: what would take words back waits for the finished turn.
    const current = live.current?.persona === event.persona ? live.current : undefined;
    const printed = current?.printed ?? '';
    if (!event.text.startsWith(printed) || event.text === printed) return;
    status.clear();
    if (!current) output.out.write(`\n${heading(output, event.persona, event.node)}`);
    output.out.write(event.text.slice(printed.length));
    live.current = { persona: event.persona, printed: event.text };
    return;
  }
  if (event.type === 'thinking') {
    status.show(`${speakerName(event.persona)} is thinking…`);
    return;
  }
  if (event.type === 'tool_call') {
    status.show(`${speakerName(event.persona)} is calling the tool ${event.tool}…`);
    return;
  }
  if (event.type === 'tool_result') {
    status.clear();
    if (live.calls.persona !== event.persona) live.calls = { persona: event.persona, count: 0 };
    live.calls.count += 1;
    output.out.write(
      `${paint(output, '2', `${speakerName(event.persona)} used ${describeToolCall(event.call)}`)}\n`,
    );
    return;
  }
  if (event.type === 'queued') {
    status.show(
      `${speakerName(event.persona)} waits for the model (position ${event.position} in the queue)…`,
    );
    return;
  }
  status.clear();
  if (event.type === 'turn') {
    const streamed = live.current?.persona === event.persona ? live.current : undefined;
    live.current = undefined;
    // Tool calls were shown as they came back; any not shown go first.
    const shownCalls = live.calls.persona === event.persona ? live.calls.count : 0;
    live.calls = { persona: '', count: 0 };
    for (const call of (event.toolCalls ?? []).slice(shownCalls)) {
      output.out.write(
        `${paint(output, '2', `${speakerName(event.persona)} used ${describeToolCall(call)}`)}\n`,
      );
    }
    if (streamed && event.text.startsWith(streamed.printed)) {
      // The streamed words stand: only the rest.
      output.out.write(`${event.text.slice(streamed.printed.length)}\n`);
    } else {
      if (streamed) output.out.write(`\n${paint(output, '2', '(revised)')}`);
      output.out.write(`\n${heading(output, event.persona, event.node)}${event.text}\n`);
    }
    if (event.dissonance !== undefined) {
      output.out.write(`${paint(output, '2', `(dissonance: ${event.dissonance.toFixed(2)})`)}\n`);
    }
    return;
  }
  for (const warning of event.warnings) output.err.write(`${paint(output, '2', `note: ${warning}`)}\n`);
}

function describeError(error: unknown): string {
  const known = findAppError(error);
  if (known) return known.message;
  return `unexpected error: ${error instanceof Error ? error.message : String(error)} (details in the chat log)`;
}

async function converse(
  runtime: Runtime,
  conversationId: string,
  message: string,
  output: Output,
  signal: AbortSignal,
) {
  const interactive = output.err.isTTY === true;
  let shown = false;
  const live: Live = { calls: { persona: '', count: 0 } };
  const status = {
    show(text: string) {
      if (!interactive) return;
      output.err.write(`\r\u001b[2K${paint(output, '2', text)}`);
      shown = true;
    },
    clear() {
      if (shown) output.err.write('\r\u001b[2K');
      shown = false;
    },
  };
  try {
    const options = { signal, streamTurns: runtime.config.streamTurns };
    for await (const event of runtime.dialogue.run({ conversationId, message }, options)) {
      printEvent(event, output, status, live);
    }
  } finally {
    status.clear();
  }
}

/** A new conversation's id. */
const newConversationId = () => `cli-${randomUUID().slice(0, 8)}`;

/** Says which conversation the chat is in, and how to come back to it. */
function announce(output: Output, conversationId: string): void {
  output.err.write(
    `${paint(output, '2', `Conversation ${conversationId} (continue it later with: npm run chat -- --conversation ${conversationId})`)}\n`,
  );
}

/** The conversation the lines go to, and what the person has been told once. */
interface Session {
  conversationId: string;
  interactive: boolean;
  /** Whether "Ctrl-C stops the dialogue" was said (once, with the first dialogue). */
  toldCtrlC: boolean;
  /** The run under way, which Ctrl-C stops. */
  running?: AbortController | undefined;
}

/**
 * Handles one line: a command of the chat's own, or a message for a dialogue. Returns `exit` to
 * leave, `failed` when a dialogue failed where nobody can answer (input from a pipe).
 */
async function handleLine(
  line: string,
  session: Session,
  runtime: Runtime,
  output: Output,
  stop: AbortSignal,
): Promise<'next' | 'exit' | 'failed'> {
  const parsed = parseChatLine(line);
  const note = (text: string) => output.err.write(`${paint(output, '2', text)}\n`);
  if (parsed.kind === 'empty') return 'next';
  if (parsed.kind === 'exit') return 'exit';
  if (parsed.kind === 'help') {
    note(CHAT_HELP);
    return 'next';
  }
  if (parsed.kind === 'unknown') {
    note(unknownCommandHint(parsed.command));
    return 'next';
  }
  if (parsed.kind === 'new') {
    session.conversationId = newConversationId();
    note('A fresh conversation: the personas start from nothing.');
    announce(output, session.conversationId);
    return 'next';
  }
  if (session.interactive && !session.toldCtrlC) {
    note('Ctrl-C stops the dialogue.');
    session.toldCtrlC = true;
  }
  const running = new AbortController();
  session.running = running;
  const { conversationId } = session;
  try {
    await converse(runtime, conversationId, parsed.text, output, AbortSignal.any([stop, running.signal]));
  } catch (error) {
    if (running.signal.aborted && session.interactive) {
      output.err.write('(stopped)\n');
    } else if (stop.aborted) {
      return 'exit';
    } else {
      output.err.write(`error: ${describeError(error)}\n`);
      runtime.logger.error({ err: error, conversationId }, 'dialogue failed');
      if (!session.interactive) return 'failed';
    }
  } finally {
    session.running = undefined;
  }
  return 'next';
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const output: Output = { out: process.stdout, err: process.stderr, color: process.stdout.isTTY === true };
  let args: { conversation?: string | undefined; help?: boolean | undefined };
  try {
    args = parseArgs({
      args: argv,
      options: { conversation: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (error) {
    output.err.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    output.out.write(`${USAGE}\n`);
    return 0;
  }

  const runtime = await openCliRuntime('chat', output.err, describeError);
  if (!runtime) return 2;

  const controller = new AbortController();
  let interrupted = false;
  try {
    await runtime.checkModels();
    const session: Session = {
      conversationId: args.conversation?.trim() || newConversationId(),
      interactive: process.stdin.isTTY === true,
      toldCtrlC: false,
    };
    if (args.conversation && !(await runtime.dialogue.exists(session.conversationId))) {
      output.err.write(`No stored conversation "${session.conversationId}": starting it now.\n`);
    }
    announce(output, session.conversationId);

    // The philosophical loop runs here too; its proposals are decided in Discord.
    runtime.bus.subscribe('proposal_ready', ({ proposal }) => {
      output.err.write(
        `${paint(output, '2', `📜 ALFRED proposed a codex amendment (${proposal.id}: ${proposal.title}). Only the architect can ratify it, in Discord (/codex history).`)}\n`,
      );
    });

    const { interactive } = session;
    const lines = createInterface({
      input: process.stdin,
      // On a terminal, readline echoes and prompts; from a pipe, it only splits lines.
      ...(interactive ? { output: process.stdout, terminal: true } : { terminal: false }),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    lines.on('SIGINT', () => {
      if (session.running) session.running.abort();
      else lines.close();
    });
    process.once('SIGTERM', () => {
      interrupted = true;
      controller.abort();
      lines.close();
    });
    if (interactive) {
      output.err.write(
        `${paint(output, '2', 'Type a task for ALFRED, BRICK and ROBIN. /help lists the commands; /exit or Ctrl-D leaves.')}\n`,
      );
      lines.setPrompt(paint(output, '1', 'you › '));
      lines.prompt();
    }
    for await (const line of lines) {
      const next = await handleLine(line, session, runtime, output, controller.signal);
      if (next === 'failed') return 1;
      if (next === 'exit') break;
      if (interactive) {
        output.out.write('\n');
        lines.prompt();
      }
    }
    return interrupted ? 130 : 0;
  } catch (error) {
    output.err.write(`error: ${describeError(error)}\n`);
    return 1;
  } finally {
    await runtime.close();
  }
}

process.exit(await main());
