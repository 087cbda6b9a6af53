import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { forgottenOf } from '../../../../src/services/forgetting/forgotten.ts';
import { forgetInLogFiles } from '../../../../src/services/forgetting/logFiles.ts';
import type { DialogueRecord } from '../../../../src/services/memory/interactionLog.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

const secret = {
  id: 'r1',
  conversationId: '123456789012345678',
  task: 'How do we ship the Quokka7Marmalade crates?',
  answer: 'By rail.',
  turns: [],
} as unknown as DialogueRecord;

const line = (fields: Record<string, unknown>) => `${JSON.stringify({ level: 30, ...fields })}\n`;

describe('forgetting in the log files', () => {
  it('drops the lines that name the conversation or hold its words, in place, and keeps the others', () => {
    const dir = join(folders.folder(), 'logs');
    mkdirSync(dir);
    const kept = line({ msg: 'runtime ready' }) + line({ conversationId: '999', msg: 'another dialogue' });
    const chat = join(dir, 'chat.log');
    writeFileSync(
      chat,
      line({ msg: 'runtime ready' }) +
        line({ conversationId: secret.conversationId, msg: 'a dialogue ran' }) +
        line({ conversationId: '999', msg: 'another dialogue' }) +
        line({ spec: `a tool: ${secret.task}`, msg: 'no tool was forged' }) +
        // A line being written: unfinished, and of the forgotten dialogue.
        `{"level":30,"verdict":"${secret.task}`,
    );
    const inode = statSync(chat).ino;
    const curate = join(dir, 'curate.log');
    writeFileSync(curate, line({ msg: 'curated 1 dialogue' }));

    expect(forgetInLogFiles(dir, forgottenOf(secret.conversationId, [secret]))).toBe(3);
    expect(readFileSync(chat, 'utf8')).toBe(kept);
    // Rewritten in place: a terminal program still writing to it keeps writing to it.
    expect(statSync(chat).ino).toBe(inode);
    expect(readFileSync(curate, 'utf8')).toBe(line({ msg: 'curated 1 dialogue' }));
    expect(forgetInLogFiles(join(dir, 'missing'), forgottenOf(secret.conversationId, [secret]))).toBe(0);
  });
});
