/**
 * What a line typed in the terminal chat is: a message for the personas, or a command for the
 * chat itself. A line that starts with `/` never reaches the models, unless it starts with `//`:
 * the escape for a message that must begin with a slash (the models get it less the first one).
 */
export type ChatLine =
  | { kind: 'empty' }
  | { kind: 'message'; text: string }
  | { kind: 'help' }
  | { kind: 'new' }
  | { kind: 'exit' }
  | { kind: 'unknown'; command: string };

const COMMANDS: Record<string, 'help' | 'new' | 'exit'> = {
  '/help': 'help',
  '/?': 'help',
  '/new': 'new',
  '/exit': 'exit',
  '/quit': 'exit',
};

/** The chat's own commands, as `/help` lists them. */
export const CHAT_HELP = `Commands (a line starting with / is never sent to the personas):
  /help   this list
  /new    a fresh conversation: the personas forget this one (it stays stored; its id is above)
  /exit   leave (Ctrl-D too)
Ctrl-C stops the dialogue under way; the conversation goes on with your next line.
To send a message that starts with /, double it: //etc/hosts is sent as /etc/hosts.`;

export function parseChatLine(line: string): ChatLine {
  const text = line.trim();
  if (!text) return { kind: 'empty' };
  if (text.startsWith('//')) return { kind: 'message', text: text.slice(1) };
  if (!text.startsWith('/')) return { kind: 'message', text };
  const command = text.split(/\s+/)[0]?.toLowerCase() ?? text;
  const known = COMMANDS[command];
  if (known === 'help' || known === 'new' || known === 'exit') return { kind: known };
  return { kind: 'unknown', command };
}

/** What the chat says to an unknown `/command`. */
export function unknownCommandHint(command: string): string {
  return `Unknown command ${command}: /help lists the commands. To send it to the personas as it is, write /${command}.`;
}
