import { describe, expect, it } from 'vitest';
import { mentionAndWait } from '../support/botSteps.ts';
import { eventually } from '../support/eventually.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const bot = useBotHarness();

describe('metrics and health', () => {
  it('serves Prometheus text and /healthz: 200 while connected, 503 once the bot is gone', async () => {
    const h = await bot.start({ env: { METRICS_PORT: '0' } });
    h.scriptRound('counted');
    await mentionAndWait(h, 'Count this');
    const base = `http://127.0.0.1:${h.app.metricsPort}`;
    // The runner counts a dialogue just after its last post: what is waited for is the count.
    const done = /^batos_dialogues_total\{outcome="done"\} 1$/m;
    const text = await eventually(async () => {
      const scraped = await (await fetch(`${base}/metrics`)).text();
      return done.test(scraped) && scraped;
    });
    expect(text).toMatch(/^batos_turns_total\{persona="ROBIN"\} 1$/m);
    expect(text).toMatch(
      /^batos_model_call_seconds_count\{persona="BRICK",model="brick-test:latest",outcome="ok"\} 1$/m,
    );
    expect(text).toMatch(
      /^batos_model_first_token_seconds_count\{persona="ALFRED",model="alfred-test:latest"\} 2$/m,
    );
    expect(text).toMatch(/^batos_model_queue_depth\{state="waiting"\} 0$/m);
    expect(text).toMatch(/^batos_process_resident_memory_bytes \d+/m);
    const healthy = await fetch(`${base}/healthz`);
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({ ok: true, checks: { discord: true, stores: true } });
    await h.stopBot();
    const down = await fetch(`${base}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ ok: false, checks: { discord: false } });
  });
});
