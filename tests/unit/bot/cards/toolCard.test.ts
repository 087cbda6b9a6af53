import { embedLength } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { toolCard } from '../../../../src/bot/cards/toolCard.ts';
import type { ToolManifest } from '../../../../src/services/tools/toolRegistry.ts';

const long = (n: number) => 'word '.repeat(n / 5);

describe('the tool card', () => {
  it('stays within Discord’s embed limits however long the model was', () => {
    const manifest: ToolManifest = {
      name: 'x'.repeat(48),
      version: 12,
      description: long(5000),
      spec: long(3000),
      entry: 'run',
      inputSchema: {
        type: 'object',
        properties: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, { type: 'string' }])),
      },
      tests: Array.from({ length: 30 }, (_, i) => ({
        input: { text: long(500) },
        expected: long(300),
        heldOut: i === 29,
        passed: i % 2 === 0,
        actual: long(200),
      })),
      attempts: [],
      rounds: 4,
      model: 'm'.repeat(200),
      codexVersion: 3,
      createdAt: new Date().toISOString(),
      requestedBy: '123456789012345678',
      codeSha256: 'a'.repeat(64),
    };
    const [embed] = toolCard(manifest, 'function run() {}').embeds;
    const data = embed?.toJSON() ?? {};
    expect(embedLength(data)).toBeLessThanOrEqual(6000);
    expect(data.title?.length).toBeLessThanOrEqual(256);
    for (const field of data.fields ?? []) expect(field.value.length).toBeLessThanOrEqual(1024);
  });
});
