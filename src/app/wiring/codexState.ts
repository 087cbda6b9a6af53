import { type Codex, loadCodex } from '../../services/codex/loadCodex.ts';
import type { Logger } from '../../services/logger.ts';
import { createPersonaRegistry, type PersonaRegistry } from '../../services/personas.ts';

/**
 * The codex in force and the personas read from it. A ratified amendment or an edit on the host
 * replaces both at once; everything else asks for them at each use (`codex()`, `personas()`).
 */
export class CodexState {
  private current: Codex;
  private registry: PersonaRegistry;

  private constructor(
    codex: Codex,
    private readonly path: string,
    private readonly logger: Logger,
  ) {
    this.current = codex;
    this.registry = createPersonaRegistry(codex);
  }

  static async load(path: string, logger: Logger): Promise<CodexState> {
    return new CodexState(await loadCodex(path), path, logger);
  }

  readonly codex = (): Codex => this.current;
  readonly personas = (): PersonaRegistry => this.registry;

  /** Puts a codex in force. */
  readonly apply = (next: Codex): void => {
    this.current = next;
    this.registry = createPersonaRegistry(next);
    this.logger.info({ codexVersion: next.data.version }, 'codex in force');
  };

  /** Re-reads the codex from disk and puts it in force. */
  async reload(): Promise<Codex> {
    const next = await loadCodex(this.path);
    this.apply(next);
    return next;
  }
}
