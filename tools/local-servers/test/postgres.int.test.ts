import { access } from 'node:fs/promises';
import { adminDatabaseUrl } from '@batchline/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ensurePostgres } from '../index.ts';
import { findFreeLoopbackPort } from '../src/ports.ts';
import { CONVENTIONAL_POSTGRES_URL, probePostgres } from '../src/postgres.ts';
import { capturingLogger, processesMentioning } from './support.ts';

describe('ensurePostgres', () => {
  it('uses the running local server when the given url answers', async () => {
    const { log } = capturingLogger();
    const server = await ensurePostgres({ url: adminDatabaseUrl(), log });
    expect(server).toMatchObject({ url: adminDatabaseUrl(), started: false });
    await server.stop();
    expect((await probePostgres(adminDatabaseUrl())).ok).toBe(true);
  });

  it('uses the conventional local server when no url is given', async () => {
    const { log } = capturingLogger();
    const server = await ensurePostgres({ log });
    expect(server).toMatchObject({ url: CONVENTIONAL_POSTGRES_URL, started: false });
  });

  it('starts a private cluster from the local installation when the given url does not answer, and stop() removes it', async () => {
    const password = 'canary-pw-8f3a1c';
    const deadUrl = `postgres://postgres:${password}@127.0.0.1:${await findFreeLoopbackPort()}/postgres`;
    const { log, lines, text } = capturingLogger();
    const server = await ensurePostgres({ url: deadUrl, log });
    try {
      expect(server.started).toBe(true);
      expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      expect(server.dataDir).toBeTruthy();
      expect(
        lines().some((line) => line.level === 'warn' && String(line.msg).includes('does not answer')),
      ).toBe(true);
      expect(text()).not.toContain(password);
      expect(await processesMentioning(server.dataDir!)).not.toEqual([]);

      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ one: number; listen: string }>(
          "SELECT 1 AS one, current_setting('listen_addresses') AS listen",
        );
        expect(rows).toEqual([{ one: 1, listen: '127.0.0.1' }]);
      } finally {
        await client.end();
      }
    } finally {
      await server.stop();
    }

    await expect(access(server.dataDir!)).rejects.toThrow();
    expect(await processesMentioning(server.dataDir!)).toEqual([]);
    expect((await probePostgres(server.url)).ok).toBe(false);
  }, 120_000);
});
