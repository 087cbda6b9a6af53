/**
 * Run with `node --import tsx … <forge dir>`: registers new versions of tools, forever, printing
 * `registered <name> v<version>` after each. A crash test kills it at random moments.
 */
import { ToolRegistry } from '../../../src/services/tools/toolRegistry.ts';
import { registerTool } from '../scripts.ts';

const [forgeDir = '.'] = process.argv.slice(2);
const registry = new ToolRegistry(forgeDir);
for (let n = 0; ; n++) {
  // A sizeable tool, so that a kill often lands mid-write.
  const code = `function run(input) {\n  return ${n};\n}\n${'// padding\n'.repeat(20_000)}`;
  const stored = await registerTool(registry, { name: `tool_${n % 3}` }, code);
  process.stdout.write(`registered ${stored.manifest.name} v${stored.manifest.version}\n`);
}
