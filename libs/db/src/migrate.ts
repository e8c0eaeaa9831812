import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@batchline/logging';
import type pg from 'pg';
import { DbError } from './errors.ts';
import { withTransaction } from './pool.ts';

const MIGRATIONS_DIRECTORY = fileURLToPath(new URL('../migrations/', import.meta.url));

/** Session-level advisory lock that serialises concurrent `batchline migrate` runs (any fixed number works). */
const MIGRATION_LOCK_ID = 4_201_870_001;

interface MigrationFile {
  /** The file name without `.sql`, e.g. `0001_init`. */
  version: string;
  fileName: string;
  sql: string;
  checksum: string;
}

export interface MigrateOptions {
  /** Where the `*.sql` files are; defaults to this package's `migrations/`. */
  directory?: string;
}

async function readMigrations(directory: string): Promise<MigrationFile[]> {
  const fileNames = (await readdir(directory)).filter((name) => name.endsWith('.sql')).sort();
  return Promise.all(
    fileNames.map(async (fileName) => {
      const sql = await readFile(join(directory, fileName), 'utf8');
      return {
        version: fileName.slice(0, -'.sql'.length),
        fileName,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    }),
  );
}

/**
 * Applies the migration files not applied yet, in name order, each in its own transaction, under an advisory lock
 * so that concurrent runs wait for each other and apply every file once. A file changed after it was applied is
 * an error: the schema it describes is not the schema the database has.
 */
export async function migrate(
  pool: pg.Pool,
  log: Logger,
  { directory = MIGRATIONS_DIRECTORY }: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const files = await readMigrations(directory);
  const client = await pool.connect();
  try {
    // Waiting for another migrator, or a long migration, may outlast the service statement timeout.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    text PRIMARY KEY,
      checksum   text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: string; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations',
    );
    const recorded = new Map(rows.map((row) => [row.version, row.checksum]));

    const applied: string[] = [];
    for (const file of files) {
      const recordedChecksum = recorded.get(file.version);
      if (recordedChecksum !== undefined) {
        if (recordedChecksum !== file.checksum) {
          throw new DbError(
            'migration_checksum_mismatch',
            `migration ${file.fileName} was changed after it was applied (recorded checksum ${recordedChecksum}, file has ${file.checksum}); add a new migration instead`,
          );
        }
        continue;
      }
      try {
        await withTransaction(client, async (tx) => {
          await tx.query(file.sql);
          await tx.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [
            file.version,
            file.checksum,
          ]);
        });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new DbError('migration_failed', `migration ${file.fileName} failed: ${reason}`, { cause: err });
      }
      log.info({ migration: file.version }, 'migration applied');
      applied.push(file.version);
    }
    return { applied };
  } finally {
    // Closing this session drops the advisory lock and the changed statement timeout with it.
    client.release(true);
  }
}
