import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, silentLogger, type TestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, DbError, migrate, type Pool } from '../index.ts';

const MIGRATIONS = fileURLToPath(new URL('../migrations/', import.meta.url));

describe('migrate', () => {
  let database: TestDatabase;
  let pool: Pool;
  let scratch: string;

  beforeAll(async () => {
    database = await createTestDatabase('migrate');
    pool = createPool({ connectionString: database.url, log: silentLogger, applicationName: 'migrate-test' });
    scratch = await mkdtemp(join(tmpdir(), 'batchline-migrations-'));
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /** A copy of the real migrations plus or minus edits, to point `migrate` at. */
  async function migrationsWith(name: string, files: Record<string, string>): Promise<string> {
    const directory = join(scratch, name);
    await cp(MIGRATIONS, directory, { recursive: true });
    for (const [file, sql] of Object.entries(files)) await writeFile(join(directory, file), sql);
    return directory;
  }

  it('applies every file once when two runs start together', async () => {
    const versions = (await readdir(MIGRATIONS))
      .filter((name) => name.endsWith('.sql'))
      .map((name) => name.slice(0, -'.sql'.length))
      .sort();
    expect(versions[0]).toBe('0001_init');
    const [first, second] = await Promise.all([migrate(pool, silentLogger), migrate(pool, silentLogger)]);
    expect([...first.applied, ...second.applied]).toEqual(versions);

    const { rows } = await pool.query('SELECT version, checksum FROM schema_migrations ORDER BY version');
    expect(rows.map((row) => row.version)).toEqual(versions);
    for (const row of rows) expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
    const tables = await pool.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    );
    expect(tables.rows.map((row) => row.name)).toEqual(
      expect.arrayContaining([
        'wl_spec_vps',
        'batch_jobs_vp_logs',
        'review_sentences_wl_spec_vp',
        'batch_request_results',
        'batch_result_chunks',
        'outbox',
        'notifications',
      ]),
    );
  });

  it('applies nothing when run again', async () => {
    expect(await migrate(pool, silentLogger)).toEqual({ applied: [] });
  });

  it('applies a new file, and only that one', async () => {
    const directory = await migrationsWith('added', {
      '0002_extra.sql': 'CREATE TABLE migration_probe (id int PRIMARY KEY);',
    });
    expect(await migrate(pool, silentLogger, { directory })).toEqual({ applied: ['0002_extra'] });
    expect(await migrate(pool, silentLogger, { directory })).toEqual({ applied: [] });
    await pool.query('SELECT id FROM migration_probe');
  });

  it('refuses an applied file whose content changed, naming it', async () => {
    const directory = await migrationsWith('edited', {
      '0002_extra.sql': 'CREATE TABLE migration_probe (id bigint PRIMARY KEY);',
    });
    const error = await migrate(pool, silentLogger, { directory }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DbError);
    expect((error as DbError).code).toBe('migration_checksum_mismatch');
    expect((error as DbError).message).toContain('0002_extra.sql');
  });

  it('rolls back a failing file, records nothing, and names it', async () => {
    const directory = await migrationsWith('broken', {
      '0002_extra.sql': 'CREATE TABLE migration_probe (id int PRIMARY KEY);',
      '0003_broken.sql': 'CREATE TABLE half_done (id int); SELECT no_such_function();',
    });
    const error = await migrate(pool, silentLogger, { directory }).catch((err: unknown) => err);
    expect((error as DbError).code).toBe('migration_failed');
    expect((error as DbError).message).toContain('0003_broken.sql');
    const { rows } = await pool.query(`SELECT to_regclass('half_done') AS half_done`);
    expect(rows[0].half_done).toBeNull();
    const recorded = await pool.query(`SELECT 1 FROM schema_migrations WHERE version = '0003_broken'`);
    expect(recorded.rowCount).toBe(0);
  });
});
