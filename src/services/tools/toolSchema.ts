import { createRequire } from 'node:module';
import type { Ajv, ValidateFunction } from 'ajv';
import { sha256 } from '../../shared/hash.ts';
import type { StoredTool } from './toolRegistry.ts';

/** Checking a tool's input against its JSON Schema. */

/** Keywords whose regular expressions Ajv would run on the bot's own thread (ReDoS). */
const REGEX_KEYWORDS = new Set(['pattern', 'patternProperties']);

/** Where an input schema uses a regular expression, or null: tools' schemas may not. */
export function regexKeywordIn(schema: unknown, path = 'input_schema'): string | null {
  if (Array.isArray(schema)) {
    for (const [i, item] of schema.entries()) {
      const found = regexKeywordIn(item, `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (!schema || typeof schema !== 'object') return null;
  for (const [key, value] of Object.entries(schema)) {
    // Under `properties`, keys are property names, not keywords.
    if (REGEX_KEYWORDS.has(key) && !path.endsWith('.properties')) return `${path}.${key}`;
    const found = regexKeywordIn(value, `${path}.${key}`);
    if (found) return found;
  }
  return null;
}

/** Validates tools' inputs, compiling each schema once. */
export class ToolInputValidator {
  // Ajv loads with the first tool call (validation is synchronous: a require, not an import).
  private ajv: Ajv | undefined;
  private readonly validators = new Map<string, ValidateFunction>();

  /** Checks an input against a tool's schema; null when it is valid, else what is wrong. */
  validate(tool: StoredTool, input: unknown): string | null {
    let validate: ValidateFunction;
    try {
      validate = this.validatorFor(tool);
    } catch (error) {
      return `the tool's input schema is invalid: ${(error as Error).message}`;
    }
    if (validate(input)) return null;
    return (validate.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.instancePath || 'input'} ${e.message ?? 'is invalid'}`)
      .join('; ');
  }

  private validatorFor(tool: StoredTool): ValidateFunction {
    // Keyed by content: a tool removed and forged again restarts at v1 with another schema.
    const key = sha256(JSON.stringify(tool.manifest.inputSchema));
    let validate = this.validators.get(key);
    if (!validate) {
      const regex = regexKeywordIn(tool.manifest.inputSchema);
      if (regex) throw new Error(`${regex}: regular expressions are not allowed in tool schemas`);
      this.ajv ??= new (createRequire(import.meta.url)('ajv') as typeof import('ajv')).Ajv({
        strict: false,
        allErrors: true,
      });
      validate = this.ajv.compile(tool.manifest.inputSchema);
      this.validators.set(key, validate);
    }
    return validate;
  }
}
