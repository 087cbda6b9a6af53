import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';

/**
 * Notices when the operator edits the codex file on the host: watches its folder (editors save
 * by writing a new file and renaming it over the old, which a watch on the file itself misses),
 * waits until the edits settle, and hands the new text over once.
 */
export interface CodexWatcher {
  close(): void;
}

/** How long the file must stay quiet before an edit counts (editors write in bursts). */
export const CODEX_DEBOUNCE_MS = 500;

export function watchCodex(options: {
  path: string;
  clock: Clock;
  logger: Logger;
  debounceMs?: number;
  onEdit: (text: string) => void;
}): CodexWatcher {
  const log = options.logger.child({ module: 'codex-watcher' });
  const name = basename(options.path);
  let settle: AbortController | undefined;
  const changed = () => {
    settle?.abort();
    const current = new AbortController();
    settle = current;
    options.clock.sleep(options.debounceMs ?? CODEX_DEBOUNCE_MS, current.signal).then(
      () => {
        let text: string;
        try {
          text = readFileSync(options.path, 'utf8');
        } catch (error) {
          // Mid-rename, or deleted: the next event brings the file back.
          log.warn({ err: error, path: options.path }, 'the codex could not be read after an edit');
          return;
        }
        options.onEdit(text);
      },
      () => undefined,
    );
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(options.path), { persistent: false }, (_event, file) => {
      if (file === null || file === name) changed();
    });
    watcher.on('error', (error) =>
      log.warn({ err: error }, 'watching the codex failed; edits on the host are no longer noticed'),
    );
  } catch (error) {
    log.warn({ err: error, path: options.path }, 'cannot watch the codex; edits on the host need a restart');
  }
  return {
    close() {
      settle?.abort();
      watcher?.close();
    },
  };
}
