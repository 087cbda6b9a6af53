import { describe, expect, it } from 'vitest';
import { parseChatLine, unknownCommandHint } from '../../../src/app/cli/chatCommands.ts';

describe('a line typed in the terminal chat', () => {
  it('is a message unless it starts with a slash', () => {
    expect(parseChatLine('  Plan a garden  ')).toEqual({ kind: 'message', text: 'Plan a garden' });
    expect(parseChatLine('a/b')).toEqual({ kind: 'message', text: 'a/b' });
    expect(parseChatLine('   ')).toEqual({ kind: 'empty' });
  });

  it('is one of the chat’s commands, whatever its case or what follows it', () => {
    expect(parseChatLine('/help')).toEqual({ kind: 'help' });
    expect(parseChatLine('/HELP me')).toEqual({ kind: 'help' });
    expect(parseChatLine('/new')).toEqual({ kind: 'new' });
    expect(parseChatLine('/exit')).toEqual({ kind: 'exit' });
    expect(parseChatLine('/quit')).toEqual({ kind: 'exit' });
  });

  it('never reaches the models when it starts with one slash; two send it less the first', () => {
    expect(parseChatLine('/etc/hosts?')).toEqual({ kind: 'unknown', command: '/etc/hosts?' });
    expect(parseChatLine('//etc/hosts?')).toEqual({ kind: 'message', text: '/etc/hosts?' });
    expect(parseChatLine('///')).toEqual({ kind: 'message', text: '//' });
    expect(unknownCommandHint('/etc/hosts?')).toContain('write //etc/hosts?');
  });
});
