import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BATCHLINE_BIN } from '@batchline/supervisor';
import {
  entitiesDeclaration,
  entitiesJobTypes,
  type MigratedTestDatabase,
  migratedTestDatabase,
  parseCsv,
  type SeededJob,
  seedEntitiesJob,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);

describe('batchline export', () => {
  let db: MigratedTestDatabase;
  let job: SeededJob;
  const dir = mkdtempSync(join(tmpdir(), 'batchline-export-'));
  const declarations = join(dir, 'entities.json');

  /** `batchline export ARGS`: exit code, stdout and stderr. */
  const run = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await exec(process.execPath, [BATCHLINE_BIN, 'export', ...args], {
        env: { PATH: process.env.PATH, DATABASE_URL: db.url, BATCHLINE_JOB_TYPES: declarations },
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  beforeAll(async () => {
    db = await migratedTestDatabase('cli_export');
    writeFileSync(declarations, JSON.stringify(entitiesDeclaration()));
    job = await seedEntitiesJob(db.pool, entitiesJobTypes().entities, 'cli');
  });
  afterAll(async () => {
    await db?.close();
  });

  it("writes a job's landed rows (two parts and a retry round) to a file as CSV, equal to the rows in Postgres", async () => {
    const file = join(dir, 'rows.csv');
    const answer = await run(`job-${job.jobId}`, '--what', 'rows', '--format', 'csv', '--output', file);
    expect(answer).toMatchObject({ code: 0, stdout: '' });
    const [header, ...records] = parseCsv(readFileSync(file, 'utf8'));
    expect(header).toEqual(['doc_id', 'name', 'kind', 'confidence', 'meta', 'batch_log_id', 'created_at']);
    const { rows } = await db.pool.query<Record<string, string | null>>(
      `SELECT doc_id::text, name, kind, confidence::text, meta::text, batch_log_id::text, created_at::text
       FROM analytics.document_entities ORDER BY batch_log_id, doc_id, name`,
    );
    expect(records).toEqual(rows.map((row) => Object.values(row)));
    expect(new Set(records.map((record) => Number(record[5])))).toEqual(new Set([job.parts[0], job.retry]));
  });

  it('writes JSONL to stdout with the rows typed, and final outcomes', async () => {
    const rows = await run(`job-${job.jobId}`, '--what', 'rows', '--format', 'jsonl');
    expect(rows.code).toBe(0);
    const lines = rows.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    const key = (row: unknown) => JSON.stringify(row);
    expect(lines.map(({ created_at: _, ...row }) => key(row)).sort()).toEqual(job.rows.map(key).sort());
    const outcomes = await run(String(job.parts[1]), '--what', 'outcomes', '--format', 'jsonl');
    expect(
      outcomes.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line))
        .map((o) => [o.custom_id, o.outcome, o.error_code]),
    ).toEqual([
      ['ent-4', 'failed', 'http_429'],
      ['ent-5', 'failed', 'invalid_content'],
    ]);
  });

  it('refuses what it cannot export with a clear message and leaves no file', async () => {
    const file = join(dir, 'none.csv');
    const unknown = await run('job-999999', '--what', 'rows', '--format', 'csv', '--output', file);
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.stderr).toContain('job 999999 does not exist');
    expect(() => readFileSync(file)).toThrow();
    const usage = await run('job-1', '--what', 'everything', '--format', 'csv');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--what must be one of outcomes, rows, answers');
    expect((await run('batch-1', '--what', 'rows', '--format', 'csv')).stderr).toContain(
      'neither a batch log id nor job-<id>',
    );
  });
});
