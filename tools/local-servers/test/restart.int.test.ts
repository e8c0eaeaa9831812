import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ensureNats, ensurePostgres, isRestartable } from '../index.ts';
import { probeNats } from '../src/nats.ts';
import { findFreeLoopbackPort } from '../src/ports.ts';
import { probePostgres } from '../src/postgres.ts';
import { capturingLogger } from './support.ts';

describe('halting and resuming a private server (fault injection)', () => {
  it('NATS keeps its JetStream data across a crash and a graceful restart on the same port', async () => {
    const { log } = capturingLogger();
    const server = await ensureNats({ url: `nats://127.0.0.1:${await findFreeLoopbackPort()}`, log });
    try {
      if (!isRestartable(server)) throw new Error('a private NATS server must be restartable');
      const publishOnce = async (msgID: string) => {
        const nc = await connect({ servers: server.url });
        try {
          const jsm = await jetstreamManager(nc);
          await jsm.streams.add({ name: 'RESTART', subjects: ['restart.>'] }).catch(() => undefined);
          const ack = await jetstream(nc).publish('restart.x', 'payload', { msgID });
          return { duplicate: ack.duplicate, messages: (await jsm.streams.info('RESTART')).state.messages };
        } finally {
          await nc.close();
        }
      };
      expect(await publishOnce('m-1')).toEqual({ duplicate: false, messages: 1 });

      await server.halt('crash');
      expect((await probeNats(server.url)).ok).toBe(false);
      await server.resume();
      // The stored message and its de-duplication id survived the SIGKILL (reliability.md XP1/XP2).
      expect(await publishOnce('m-1')).toEqual({ duplicate: true, messages: 1 });

      await server.halt('graceful');
      expect((await probeNats(server.url)).ok).toBe(false);
      await server.resume();
      expect(await publishOnce('m-2')).toEqual({ duplicate: false, messages: 2 });
    } finally {
      await server.stop();
    }
    expect((await probeNats(server.url)).ok).toBe(false);
  });

  it('Postgres keeps committed rows across an immediate stop (crash recovery) and a fast stop', async () => {
    const { log } = capturingLogger();
    const server = await ensurePostgres({
      url: `postgres://postgres@127.0.0.1:${await findFreeLoopbackPort()}/postgres`,
      log,
    });
    const query = async (sql: string) => {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        return (await client.query<{ n: number }>(sql)).rows;
      } finally {
        await client.end();
      }
    };
    try {
      if (!isRestartable(server)) throw new Error('a private Postgres cluster must be restartable');
      await query('CREATE TABLE kept (n int); INSERT INTO kept VALUES (1)');

      await server.halt('crash');
      expect((await probePostgres(server.url)).ok).toBe(false);
      await server.resume();
      await query('INSERT INTO kept VALUES (2)');

      await server.halt('graceful');
      expect((await probePostgres(server.url)).ok).toBe(false);
      await server.resume();
      expect(await query('SELECT n FROM kept ORDER BY n')).toEqual([{ n: 1 }, { n: 2 }]);
    } finally {
      await server.stop();
    }
    expect((await probePostgres(server.url)).ok).toBe(false);
  }, 120_000);
});
