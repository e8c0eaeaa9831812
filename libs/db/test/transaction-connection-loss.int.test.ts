import { setTimeout as sleep } from 'node:timers/promises';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pool, withTransaction } from '../index.ts';

// Found by the chaos suite (seed 1549264335): a Postgres restart while a service held a transaction ended the
// service with an unhandled 'error' event, because pg-pool removes its error listener from a checked-out client.
describe('a transaction whose connection the server ends', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('tx_connection_loss');
    pool = db.pool;
  });
  afterAll(async () => db?.close());

  it('fails the transaction instead of crashing the process, and the pool recovers', async () => {
    const transaction = withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // Between two statements (the client is checked out, no query running) the server ends the backend.
      await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await sleep(300);
      await client.query('SELECT 1');
    });
    await expect(transaction).rejects.toThrow();
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
  });
});
