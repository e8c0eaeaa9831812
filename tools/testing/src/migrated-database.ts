import { createPool, migrate, type Pool, upsertViewpoints } from '@batchline/db';
import type { Viewpoint } from '@batchline/domain';
import { createTestDatabase } from './database.ts';
import { silentLogger } from './silent-logger.ts';

export interface MigratedTestDatabase {
  pool: Pool;
  /** Connection URL, for processes and second pools. */
  url: string;
  /** Closes the pool and drops the database. */
  close(): Promise<void>;
}

/** Viewpoints 1..5, the catalogue most tests need. */
const FIVE_VIEWPOINTS: readonly Viewpoint[] = [1, 2, 3, 4, 5].map((id) => ({ id, name: `viewpoint ${id}` }));

/**
 * A database of its own for one test file, with the schema migrated and a viewpoint catalogue (1..5 unless
 * `viewpoints` says otherwise; `[]` leaves it empty).
 */
export async function migratedTestDatabase(
  label: string,
  {
    viewpoints = FIVE_VIEWPOINTS,
    poolSize = 16,
  }: { viewpoints?: readonly Viewpoint[]; poolSize?: number } = {},
): Promise<MigratedTestDatabase> {
  const database = await createTestDatabase(label);
  const pool = createPool({
    connectionString: database.url,
    log: silentLogger,
    applicationName: `${label}-test`,
    max: poolSize,
  });
  try {
    await migrate(pool, silentLogger);
    if (viewpoints.length > 0) await upsertViewpoints(pool, viewpoints);
  } catch (error) {
    await pool.end();
    await database.drop();
    throw error;
  }
  return {
    pool,
    url: database.url,
    async close() {
      await pool.end();
      await database.drop();
    },
  };
}
