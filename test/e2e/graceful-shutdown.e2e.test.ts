import { getBatchLog } from '@batchline/db';
import { waitFor } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectLandedExactlyOnce,
  ledgerRows,
  type PipelineWorld,
  startPipelineWorld,
} from './support/tracked-batch.ts';

/**
 * SIGTERM in the middle of a batch: every service stops taking messages, finishes what it holds, drains NATS,
 * closes its pool and exits 0; once restarted, the batch lands exactly as served and is announced once.
 */
describe('graceful shutdown in the middle of a batch', () => {
  let world: PipelineWorld;

  beforeAll(async () => {
    // Chunks of 1,000: SIGTERM lands between the twenty chunks of a 20,000-request batch.
    world = await startPipelineWorld('sigterm', { RESULTS_CHUNK_RECORDS: '1000' });
  });

  afterAll(async () => {
    await world?.close();
  });

  it('loses and doubles nothing when every service is stopped with SIGTERM mid-batch and started again', async () => {
    const requests = 20_000;
    const { batchLogId, providerBatchId } = await world.trackBatch(requests, 40);
    await waitFor('the first chunks to land', async () => (await ledgerRows(world, batchLogId)) >= 1, {
      timeoutMs: 90_000,
      intervalMs: 20,
    });

    const running = world.pipeline.services.filter((service) => service.child.exitCode === null);
    const exits = await Promise.all(running.map((service) => service.stop(30_000)));
    expect(exits).toEqual(running.map(() => 0));
    // The stop really came mid-batch: not final yet, and not every chunk committed.
    const interrupted = await getBatchLog(world.pool, batchLogId);
    expect(interrupted?.status).toBe(1);
    expect(interrupted?.resultsLandedAt).toBeNull();
    for (const line of world.pipeline.logs.filter((l) => l.line.includes('stopped"'))) {
      expect(line.line).toMatch(/"msg":"\w+ stopped"/);
    }
    expect(
      world.pipeline.logs
        .filter((l) => /"msg":"\w+ stopped"/.test(l.line))
        .map((l) => l.service)
        .sort(),
    ).toEqual(running.map((service) => service.name).sort());

    for (const service of running) world.pipeline.start(service.name);
    try {
      await expectLandedExactlyOnce(world, batchLogId, providerBatchId, requests);
    } catch (error) {
      // What the services said, for whoever reads a failure of this test.
      const row = await getBatchLog(world.pool, batchLogId);
      const landed = await ledgerRows(world, batchLogId);
      console.error('batch after restart', { row, landed });
      for (const { service, line } of world.pipeline.logs) {
        if (/"level":"(warn|error)"|stopp|started|finalized|published|dispatched/.test(line)) {
          console.error(service, line.slice(0, 400));
        }
      }
      throw error;
    }
  });
});
