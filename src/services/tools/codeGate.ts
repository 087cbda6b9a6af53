import { type Node, parse } from 'acorn';
import { full } from 'acorn-walk';

/**
 * The static gate every tool passes before it runs anywhere: the code parses, defines exactly
 * one entry function `run(input)`, does nothing at load time, names nothing that reaches for
 * the host or for dynamic code, and stays within a size limit. The sandbox is the boundary;
 * this gate is the policy that keeps generated code reviewable.
 */

export const MAX_TOOL_CODE_CHARS = 20_000;

/** Names a tool may not mention: dynamic code, modules, and the host's globals. */
const FORBIDDEN_NAMES = new Set([
  'require',
  'eval',
  'Function',
  'AsyncFunction',
  'GeneratorFunction',
  'process',
  'globalThis',
  'global',
  'window',
  'self',
  'module',
  'exports',
  'fetch',
  'XMLHttpRequest',
  'WebSocket',
  'importScripts',
  'WebAssembly',
  'SharedArrayBuffer',
  'Atomics',
  '__batCall',
]);

/** Properties that lead from any value to constructors and prototypes. */
const FORBIDDEN_PROPERTIES = new Set(['constructor', '__proto__', '__defineGetter__', '__defineSetter__']);

const ALLOWED_TOP_LEVEL = new Set([
  'FunctionDeclaration',
  'VariableDeclaration',
  'ClassDeclaration',
  'EmptyStatement',
]);

export type GateVerdict = { ok: true } | { ok: false; problems: string[] };

interface Located {
  loc?: { start: { line: number } } | null;
}

const lineOf = (node: Located) => (node.loc ? `line ${node.loc.start.line}: ` : '');

export function checkToolCode(code: string): GateVerdict {
  if (code.length > MAX_TOOL_CODE_CHARS) {
    return {
      ok: false,
      problems: [`the code is ${code.length} characters, over the limit of ${MAX_TOOL_CODE_CHARS}`],
    };
  }
  let program: ReturnType<typeof parse>;
  try {
    program = parse(code, { ecmaVersion: 'latest', sourceType: 'script', locations: true });
  } catch (error) {
    if (/\b(import|export)\b/.test(code)) {
      try {
        parse(code, { ecmaVersion: 'latest', sourceType: 'module' });
        return { ok: false, problems: ['the code uses import/export: a tool is one script with no modules'] };
      } catch {
        // Not a module either: report the script parse error below.
      }
    }
    return { ok: false, problems: [`the code does not parse: ${(error as Error).message}`] };
  }

  const problems: string[] = [];
  let entries = 0;
  for (const statement of program.body) {
    const isDirective = statement.type === 'ExpressionStatement' && 'directive' in statement;
    if (!ALLOWED_TOP_LEVEL.has(statement.type) && !isDirective) {
      problems.push(
        `${lineOf(statement)}top-level ${statement.type}: only declarations may stand outside functions (nothing runs at load time)`,
      );
    }
    if (statement.type === 'FunctionDeclaration' && statement.id?.name === 'run') {
      entries++;
      if (statement.generator) problems.push(`${lineOf(statement)}run must not be a generator`);
    }
    if (statement.type === 'VariableDeclaration') {
      for (const declaration of statement.declarations) {
        if (declaration.id.type === 'Identifier' && declaration.id.name === 'run') {
          problems.push(
            `${lineOf(declaration)}run must be a function declaration: function run(input) { … }`,
          );
        }
      }
    }
  }
  if (entries === 0) problems.push('there is no entry function: define function run(input) { … }');
  if (entries > 1) problems.push(`run is defined ${entries} times: there must be exactly one entry function`);

  full(program, (node: Node) => {
    switch (node.type) {
      case 'Identifier': {
        const name = (node as Node & { name: string }).name;
        if (FORBIDDEN_NAMES.has(name)) problems.push(`${lineOf(node)}uses \`${name}\`, which tools may not`);
        break;
      }
      case 'ImportExpression':
        problems.push(`${lineOf(node)}uses import(): a tool cannot load code`);
        break;
      case 'MetaProperty':
        problems.push(`${lineOf(node)}uses import.meta or new.target`);
        break;
      case 'MemberExpression': {
        const member = node as Node & {
          computed: boolean;
          property: Node & { name?: string; value?: unknown };
        };
        const name = member.computed ? member.property.value : member.property.name;
        if (typeof name === 'string' && FORBIDDEN_PROPERTIES.has(name)) {
          problems.push(`${lineOf(node)}uses .${name}, which tools may not`);
        }
        break;
      }
    }
  });
  return problems.length === 0 ? { ok: true } : { ok: false, problems: [...new Set(problems)] };
}
