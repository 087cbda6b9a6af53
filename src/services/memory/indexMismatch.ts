import { AppError } from '../errors.ts';

export const REBUILD_HINT = 'npm run memory:rebuild';

/** The stored index cannot serve the current embedding model. */
export function dimensionMismatch(stored: number, model: string, got: number): AppError {
  return new AppError(
    'MEMORY_INDEX_MISMATCH',
    'user',
    `The memory index holds ${stored}-dimensional vectors, but the embedding model ${model} gives ${got}. ` +
      `Rebuild the index from the interaction log: \`${REBUILD_HINT}\``,
  );
}
