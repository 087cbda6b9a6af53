import { afterEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import type { Sandbox } from '../../../../src/services/tools/sandbox.ts';
import { DEFAULT_SANDBOX_LIMITS } from '../../../../src/services/tools/sandboxLimits.ts';
import { ToolRegistry } from '../../../../src/services/tools/toolRegistry.ts';
import { createToolService } from '../../../../src/services/tools/toolService.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { registerTool } from '../../../support/scripts.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

/** A sandbox whose every tool answers 'ran': the scope is what is tested here. */
const sandbox: Sandbox = {
  run: async () => ({ ok: true, value: 'ran', json: '"ran"', ms: 1 }),
  limits: DEFAULT_SANDBOX_LIMITS,
  close: async () => {},
};

describe('the tools a place may see', () => {
  it('offers, lists and runs a tool forged in a place only where its readers may read that place', async () => {
    const registry = new ToolRegistry(folders.folder());
    await registerTool(registry, { name: 'lab_tool', guildId: 'g', channelId: 'lab' });
    await registerTool(registry, { name: 'open_tool', guildId: 'g', channelId: 'general' });
    // Forged before places were kept, or outside Discord: its server sees it, as before.
    await registerTool(registry, { name: 'old_tool', guildId: 'g' });
    const tools = createToolService({ registry, sandbox, logger: createSilentLogger() });

    const general = { guildId: 'g', channelIds: ['general'] };
    expect(tools.list(general).map((t) => t.name)).toEqual(['old_tool', 'open_tool']);
    expect(tools.info('lab_tool', general)).toBeUndefined();
    expect(await tools.call('lab_tool', { text: 'a' }, general)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/no tool named "lab_tool"/),
    });
    expect(await tools.relevant('count', { ...general, k: 5 })).toHaveLength(2);

    const lab = { guildId: 'g', channelIds: ['lab', 'general'] };
    expect(tools.list(lab).map((t) => t.name)).toEqual(['lab_tool', 'old_tool', 'open_tool']);
    // The server as a whole (no places given), and the operator, see all.
    expect(tools.list({ guildId: 'g' })).toHaveLength(3);
    expect(tools.list()).toHaveLength(3);
    // The place is kept in the manifest on disk.
    expect(new ToolRegistry(registry.dir).get('lab_tool')?.manifest.channelId).toBe('lab');
  });
});
