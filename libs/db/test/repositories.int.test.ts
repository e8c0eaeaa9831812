import { Writable } from 'node:stream';
import { createLogger } from '@batchline/logging';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createPool,
  enqueueOutbox,
  getBatchLog,
  insertBatchLog,
  listBatchLogs,
  listViewpoints,
  loadRequestCustomIds,
  type Pool,
  upsertViewpoints,
  withTransaction,
} from '../index.ts';

describe('repositories', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('repositories');
    pool = db.pool;
  });
  afterAll(async () => db?.close());

  describe('pool', () => {
    it('survives the server ending an idle connection, and reconnects', async () => {
      const lines: string[] = [];
      const log = createLogger({
        service: 'db-test',
        level: 'warn',
        destination: new Writable({
          write(chunk, _encoding, callback) {
            lines.push(String(chunk));
            callback();
          },
        }),
      });
      const small = createPool({ connectionString: db.url, log, applicationName: 'db-test-restart', max: 1 });
      try {
        const { rows } = await small.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await vi.waitFor(() => expect(lines.join('')).toContain('idle database connection lost'), {
          timeout: 10_000,
        });
        const after = await small.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        expect(after.rows[0]!.pid).not.toBe(rows[0]!.pid);
      } finally {
        await small.end();
      }
    });

    it('sets the timeouts and the application name on every connection', async () => {
      const { rows } = await pool.query(
        `SELECT current_setting('statement_timeout') AS statement_timeout,
                current_setting('idle_in_transaction_session_timeout') AS idle_timeout,
                current_setting('application_name') AS application_name`,
      );
      expect(rows[0]).toEqual({
        statement_timeout: '30s',
        idle_timeout: '1min',
        application_name: 'repositories-test',
      });
    });

    it('rolls a failed transaction back and keeps the pool usable', async () => {
      await pool.query('CREATE TABLE tx_probe (id int PRIMARY KEY)');
      await expect(
        withTransaction(pool, async (client) => {
          await client.query('INSERT INTO tx_probe VALUES (1)');
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect((await pool.query('SELECT * FROM tx_probe')).rowCount).toBe(0);
      expect(
        await withTransaction(
          pool,
          async (client) => (await client.query('INSERT INTO tx_probe VALUES (2)')).rowCount,
        ),
      ).toBe(1);
      expect(pool.idleCount).toBe(pool.totalCount);
    });

    it('runs a transaction on a client the caller holds, leaving it checked out', async () => {
      const client = await pool.connect();
      try {
        await withTransaction(client, async (tx) => tx.query('INSERT INTO tx_probe VALUES (3)'));
        const { rows } = await client.query('SELECT count(*)::int AS n FROM tx_probe WHERE id = 3');
        expect(rows[0].n).toBe(1);
      } finally {
        client.release();
      }
    });
  });

  describe('viewpoints', () => {
    it('upserts and lists the catalogue', async () => {
      expect(
        await upsertViewpoints(pool, [
          { id: 3, name: 'price (renamed)' },
          { id: 42, name: 'battery' },
          { id: 42, name: 'battery life' },
        ]),
      ).toBe(2);
      expect(await upsertViewpoints(pool, [])).toBe(0);
      const listed = await listViewpoints(pool);
      expect(listed.map((viewpoint) => viewpoint.id)).toEqual([1, 2, 3, 4, 5, 42]);
      expect(listed.find((viewpoint) => viewpoint.id === 3)?.name).toBe('price (renamed)');
      expect(listed.find((viewpoint) => viewpoint.id === 42)?.name).toBe('battery life');
    });
  });

  describe('batch logs', () => {
    it('records a batch, and adopting it again returns the same id', async () => {
      const batch = {
        provider: 'openai' as const,
        batchId: 'batch_adopt_me',
        model: 'gpt-4o-mini',
        totalSentences: 12,
        inputFileId: 'file-abc',
        firstPollDelayMs: 3_600_000,
      };
      const first = await insertBatchLog(pool, batch);
      expect(first.created).toBe(true);
      expect(await insertBatchLog(pool, { ...batch, totalSentences: 99 })).toEqual({
        id: first.id,
        created: false,
      });
      // The same provider batch id at another provider is another batch.
      const other = await insertBatchLog(pool, { ...batch, provider: 'anthropic' });
      expect(other.created).toBe(true);
      expect(other.id).not.toBe(first.id);

      const row = await getBatchLog(pool, first.id);
      expect(row).toMatchObject({
        id: first.id,
        provider: 'openai',
        batchId: 'batch_adopt_me',
        jobType: 'specific_viewpoint',
        model: 'gpt-4o-mini',
        totalSentences: 12,
        processedSentences: 0,
        failedSentences: 0,
        status: 1,
        inputFileId: 'file-abc',
        pollAttempt: 0,
        leaseVersion: 0,
        expectedChunks: null,
      });
      expect(row!.nextPollAt.getTime() - row!.createdAt.getTime()).toBeGreaterThanOrEqual(3_600_000);
      expect(await getBatchLog(pool, 999_999)).toBeNull();
    });

    it('records the requests of a batch we submitted with it; an adopted batch has none', async () => {
      const submitted = await insertBatchLog(pool, {
        provider: 'openai',
        batchId: 'batch_with_requests',
        model: null,
        totalSentences: 3,
        inputFileId: 'file-req',
        firstPollDelayMs: 0,
        requestIds: [7, 9_007_199_254_740_991, 3],
      });
      expect(await loadRequestCustomIds(pool, submitted.id)).toEqual(
        new Set(['rs-7', 'rs-9007199254740991', 'rs-3']),
      );
      // Recording it again (a retried submit) keeps the first requests.
      await insertBatchLog(pool, {
        provider: 'openai',
        batchId: 'batch_with_requests',
        model: null,
        totalSentences: 1,
        inputFileId: 'file-req',
        firstPollDelayMs: 0,
        requestIds: [1],
      });
      expect((await loadRequestCustomIds(pool, submitted.id))?.size).toBe(3);
      const adopted = await insertBatchLog(pool, {
        provider: 'openai',
        batchId: 'batch_adopted_no_requests',
        model: null,
        totalSentences: 3,
        inputFileId: 'file-adopted',
        firstPollDelayMs: 0,
      });
      expect(await loadRequestCustomIds(pool, adopted.id)).toBeNull();
      const empty = await insertBatchLog(pool, {
        provider: 'anthropic',
        batchId: 'batch_no_requests_at_all',
        model: null,
        totalSentences: 0,
        inputFileId: null,
        firstPollDelayMs: 0,
        requestIds: [],
      });
      expect(await loadRequestCustomIds(pool, empty.id)).toEqual(new Set());
    });

    it("records a job type's string request ids and reads them back under its prefix", async () => {
      const submitted = await insertBatchLog(pool, {
        provider: 'openai',
        batchId: 'batch_with_string_ids',
        model: null,
        jobType: 'review_sentiment',
        totalSentences: 2,
        inputFileId: 'file-str',
        firstPollDelayMs: 0,
        requestIds: ['r-1.a', 'R_2'],
      });
      expect(await loadRequestCustomIds(pool, submitted.id, 'sent')).toEqual(
        new Set(['sent-r-1.a', 'sent-R_2']),
      );
      expect((await getBatchLog(pool, submitted.id))?.jobType).toBe('review_sentiment');
    });

    it('lists newest first, up to the limit', async () => {
      const ids: number[] = [];
      for (const n of [1, 2, 3]) {
        const { id } = await insertBatchLog(pool, {
          provider: 'openai',
          batchId: `batch_list_${n}`,
          model: null,
          jobType: 'specific_viewpoint',
          totalSentences: n,
          inputFileId: null,
          firstPollDelayMs: 0,
        });
        ids.push(id);
      }
      const listed = await listBatchLogs(pool, { limit: 2 });
      expect(listed.map((row) => row.id)).toEqual([ids[2], ids[1]]);
    });

    it('keeps updated_at current on every write', async () => {
      const { id } = await insertBatchLog(pool, {
        provider: 'openai',
        batchId: 'batch_touch',
        model: null,
        totalSentences: 1,
        inputFileId: null,
        firstPollDelayMs: 0,
      });
      await pool.query(`UPDATE batch_jobs_vp_logs SET updated_at = now() - interval '1 day' WHERE id = $1`, [
        id,
      ]);
      await pool.query('UPDATE batch_jobs_vp_logs SET poll_attempt = 5 WHERE id = $1', [id]);
      const { rows } = await pool.query(
        `SELECT updated_at > now() - interval '1 hour' AS fresh FROM batch_jobs_vp_logs WHERE id = $1`,
        [id],
      );
      expect(rows[0].fresh).toBe(true);
    });
  });

  describe('outbox', () => {
    it('writes an event once per msg id', async () => {
      const event = {
        subject: 'batch.status.changed',
        msgId: 'status:7:1',
        payload: { list: [1, 2], text: "it's" },
      };
      expect(await enqueueOutbox(pool, event)).toBe(true);
      expect(await enqueueOutbox(pool, { ...event, payload: { other: true } })).toBe(false);
      const { rows } = await pool.query(`SELECT payload, headers FROM outbox WHERE msg_id = 'status:7:1'`);
      expect(rows).toEqual([{ payload: { list: [1, 2], text: "it's" }, headers: {} }]);
    });
  });
});
