import type { StoreLocation } from '../db/openStoreDatabase.ts';
import { createGoldenStore, type GoldenStore, type GoldenStoreOptions } from './goldenStore.ts';
import { GoldenTable } from './goldenTable.ts';

/**
 * The golden sets where the settings keep the state: JSON-lines files under `DATA_DIR/golden`
 * (`options.dir`) by default, unchanged; a table in PostgreSQL when `DATABASE_URL` is set, so that
 * every process reads the same sets and a trainer's snapshot needs no shared folder.
 */
export async function openGoldenStore(
  location: StoreLocation,
  options: GoldenStoreOptions,
): Promise<GoldenStore> {
  if (!location.databaseUrl) return createGoldenStore(options);
  return GoldenTable.open(location, { anchorSize: options.anchorSize, clock: options.clock });
}
