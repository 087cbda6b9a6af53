import { PermissionFlagsBits } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { UNREACHABLE_IN_PUBLIC } from '../../src/services/llm/ollamaErrors.ts';
import { mentionAndWait, personaPosts, speakers } from '../support/botSteps.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { closedPort } from '../support/scripts.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
const bot = useBotHarness();

describe('what Discord refuses is ridden out', () => {
  it('recreates the webhook once when Discord has deleted it mid-dialogue (10015)', async () => {
    const h = await bot.start();
    h.ollama
      .script(ALFRED, ['plan', 'answer'])
      .script(BRICK, [{ content: 'thesis', delayMs: 300 }])
      .script(ROBIN, ['ok\nDISSONANCE: 0.1']);
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Task', { mentionBot: true });
    await h.discord.waitFor(() => personaPosts(h, message.id).length >= 1 || undefined);
    const [first] = h.discord.webhooks();
    h.discord.deleteWebhook(first?.id ?? '');

    await h.discord.waitFor(() => personaPosts(h, message.id).length >= 4 || undefined, 10_000);

    expect(speakers(personaPosts(h, message.id))).toEqual(['ALFRED', 'BRICK', 'ROBIN', 'ALFRED']);
    const live = h.discord.webhooks().filter((w) => w.id !== first?.id);
    expect(live).toHaveLength(1);
    expect(await h.store.get(`webhook:${h.discord.channelId}`)).toMatchObject({ id: live[0]?.id });
  });

  it('waits out a 429 as Retry-After says and loses no turn', async () => {
    const h = await bot.start();
    h.scriptRound('rl');
    h.discord.failNext({
      method: 'POST',
      path: /^\/api\/v10\/webhooks\/\d+\/[^/]+$/,
      status: 429,
      retryAfter: 0.3,
    });
    const thread = await mentionAndWait(h, 'Rate limited');
    expect(speakers(personaPosts(h, thread.id))).toEqual(['ALFRED', 'BRICK', 'ROBIN', 'ALFRED']);
    const limited = h.discord.requests.findIndex((r) => r.status === 429);
    const retry = h.discord.requests.findIndex(
      (r, i) => i > limited && /\/webhooks\//.test(r.path) && r.status === 200,
    );
    expect(limited).toBeGreaterThanOrEqual(0);
    expect(h.discord.requests[retry]!.at - h.discord.requests[limited]!.at).toBeGreaterThanOrEqual(250);
  });

  it('still answers without Manage Webhooks, as itself, and says once which permission is missing', async () => {
    const h = await bot.start();
    const all = Object.values(PermissionFlagsBits).reduce((a, b) => a | b, 0n);
    h.discord.setBotPermissions(
      all & ~PermissionFlagsBits.ManageWebhooks & ~PermissionFlagsBits.Administrator,
    );
    h.scriptRound('x');
    const first = h.discord.userSays(h.userId, h.discord.channelId, 'One', { mentionBot: true });
    const answered = (id: string) =>
      h.discord.messages(id).filter((m) => m.author.id === h.discord.botUserId);
    await h.discord.waitFor(() => answered(first.id).length >= 5 || undefined, 10_000);
    h.scriptRound('y');
    const second = h.discord.userSays(h.userId, h.discord.channelId, 'Two', { mentionBot: true });
    await h.discord.waitFor(() => answered(second.id).length >= 4 || undefined, 10_000);

    const firstContents = answered(first.id).map((m) => m.content);
    expect(firstContents[0]).toMatch(/Manage Webhooks/);
    expect(firstContents.slice(1)).toEqual([
      '**ALFRED:** plan x',
      '**BRICK:** thesis x',
      '**ROBIN:** antithesis x\n-# dissonance: 0.10',
      '**ALFRED:** answer x',
    ]);
    expect(answered(second.id).some((m) => /Manage Webhooks/.test(m.content))).toBe(false);
    expect(h.discord.webhooks()).toHaveLength(0);
  });
});

describe('failures are one clear message in the thread', () => {
  it('says once, clearly, that Ollama is down, and the thread stays usable', async () => {
    const port = await closedPort();
    const h = await bot.start({ env: { OLLAMA_HOST: `http://127.0.0.1:${port}` } });

    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Hello?', { mentionBot: true });
    const notice = await h.discord.waitFor(() =>
      h.discord.messages(message.id).find((m) => m.content.includes('Ollama')),
    );

    // What went wrong in words: where the bot looked for Ollama is the log's, not the thread's.
    expect(notice.content).toBe(`⚠️ ${UNREACHABLE_IN_PUBLIC} (I tried again a few times first.)`);
    expect(notice.content).toMatch(/^⚠️ cannot reach Ollama: start it with `ollama serve`/);
    expect(notice.content).not.toMatch(new RegExp(`127\\.0\\.0\\.1|${port}|http`));
    h.discord.userSays(h.userId, message.id, 'Still there?');
    await h.discord.waitFor(
      () =>
        h.discord.messages(message.id).filter((m) => m.content.includes('Ollama')).length >= 2 || undefined,
    );
    expect(h.discord.messages(message.id).filter((m) => m.author.id === h.discord.botUserId)).toHaveLength(2);
  });

  it('names the model to pull when a persona model is missing', async () => {
    const h = await bot.start();
    h.ollama.models.delete(BRICK);
    h.ollama.script(ALFRED, ['plan']);
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Task', { mentionBot: true });
    const notice = await h.discord.waitFor(() =>
      h.discord.messages(message.id).find((m) => m.content.startsWith('⚠️')),
    );
    expect(notice.content).toBe(`⚠️ model ${BRICK} is not pulled: \`ollama pull ${BRICK}\``);
  });

  it('says so when Discord refuses a post', async () => {
    const h = await bot.start();
    h.scriptRound('refused');
    h.discord.failNext({
      method: 'POST',
      path: /\/webhooks\/\d+\/[^/]+$/,
      status: 400,
      code: 50035,
      message: 'Invalid Form Body',
    });
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Task', { mentionBot: true });
    const notice = await h.discord.waitFor(() =>
      h.discord.messages(message.id).find((m) => m.content.startsWith('⚠️')),
    );
    expect(notice.content).toMatch(/Discord refused a post \(50035/);
  });

  it('says so in the channel when the thread cannot be created', async () => {
    const h = await bot.start();
    h.discord.failNext({
      method: 'POST',
      path: /\/threads$/,
      status: 400,
      code: 160004,
      message: 'A thread has already been created for this message',
    });
    h.discord.userSays(h.userId, h.discord.channelId, 'Task', { mentionBot: true });
    const reply = await h.discord.waitFor(() =>
      h.discord.messages(h.discord.channelId).find((m) => m.author.id === h.discord.botUserId),
    );
    expect(reply.content).toMatch(/thread already exists/);
  });

  it('says so in the channel when the thread was archived and locked under it', async () => {
    const h = await bot.start();
    h.ollama.respond(async (request) => {
      if (request.model === BRICK) {
        // A moderator archives and locks the thread while BRICK thinks.
        h.discord.archiveThread(h.discord.threads()[0]?.id ?? '', { locked: true });
        return 'thesis';
      }
      return request.model === ROBIN ? 'ok\nDISSONANCE: 0.1' : 'words';
    });
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'A task', { mentionBot: true });
    const notice = await h.discord.waitFor(
      () => h.discord.messages(h.discord.channelId).find((m) => m.content.includes('archived and locked')),
      10_000,
    );
    expect(notice.content).toContain(`<#${message.id}>`);
    expect(notice.author.id).toBe(h.discord.botUserId);
  });
});
