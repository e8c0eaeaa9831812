import { access } from 'node:fs/promises';
import { testNamespace, testNatsUrl } from '@batchline/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { ensureNats } from '../index.ts';
import { DEFAULT_NATS_URL, probeNats } from '../src/nats.ts';
import { findFreeLoopbackPort } from '../src/ports.ts';
import { capturingLogger, processesMentioning } from './support.ts';

describe('ensureNats', () => {
  it('starts a private nats-server with JetStream when the given url does not answer, and stop() removes it', async () => {
    const deadUrl = `nats://127.0.0.1:${await findFreeLoopbackPort()}`;
    const { log, lines } = capturingLogger();
    const server = await ensureNats({ url: deadUrl, log });
    try {
      expect(server.started).toBe(true);
      expect(server.url).not.toBe(deadUrl);
      expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      expect(server.dataDir).toBeTruthy();
      expect(lines().some((line) => line.level === 'warn' && line.url === deadUrl)).toBe(true);
      expect(await processesMentioning(server.dataDir!)).not.toEqual([]);

      const nc = await connect({ servers: server.url });
      try {
        const stream = testNamespace('localnats');
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
        const ack = await jetstream(nc).publish(`${stream}.hello`, 'world');
        expect(ack.stream).toBe(stream);
        expect((await jsm.streams.info(stream)).state.messages).toBe(1);
      } finally {
        await nc.close();
      }
    } finally {
      await server.stop();
    }

    await expect(access(server.dataDir!)).rejects.toThrow();
    expect(await processesMentioning(server.dataDir!)).toEqual([]);
    expect((await probeNats(server.url)).ok).toBe(false);
    await server.stop(); // a second stop is harmless
  });

  it('uses the running local server when it answers with JetStream', async () => {
    const { log } = capturingLogger();
    const server = await ensureNats({ url: testNatsUrl(), log });
    expect(server).toMatchObject({ url: testNatsUrl(), started: false });
    expect(server.dataDir).toBeUndefined();
    await server.stop();
    expect((await probeNats(testNatsUrl())).ok).toBe(true);
  });

  it('uses the conventional local address when no url is given', async () => {
    const { log } = capturingLogger();
    const server = await ensureNats({ log });
    expect(server).toMatchObject({ url: DEFAULT_NATS_URL, started: false });
  });
});
