import { getBatchLog } from '@batchline/db';
import { BATCHLINE_BIN } from '@batchline/supervisor';
import { waitFor } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execBatchline, type PipelineWorld, startPipelineWorld } from './support/tracked-batch.ts';

/** A result file the provider no longer has: the batch ends 9 and operators hear of it, once. */
describe('a result file that cannot be downloaded', () => {
  let world: PipelineWorld;

  beforeAll(async () => {
    world = await startPipelineWorld('unreadable');
  });

  afterAll(async () => {
    await world?.close();
  });

  it('ends the batch with status 9 (results_unavailable) and posts one operational error and one final message', async () => {
    const providerBatchId = await world.createBatch(200, 50);
    const batch = await waitFor('the emulated batch to complete', async () => {
      const current = await world.provider.getBatch(providerBatchId);
      return current.status === 'completed' ? current : undefined;
    });
    world.emulator.injectHttpFault({
      method: 'GET',
      path: new RegExp(`^/v1/files/${batch.outputFileId}/content$`),
      status: 404,
      times: Number.POSITIVE_INFINITY,
    });
    const tracked = await execBatchline(process.execPath, [BATCHLINE_BIN, 'track', providerBatchId], {
      env: world.env,
    });
    const batchLogId = Number(/batch log (\d+)/.exec(tracked.stdout)?.[1]);
    await world.waitUntilAnnounced(batchLogId);

    const row = await getBatchLog(world.pool, batchLogId);
    expect(row?.status).toBe(9);
    expect(row?.logDetails).toMatchObject({ reason: 'results_unavailable' });
    const ops = await waitFor('the operational error to be posted', () => {
      const found = world.slack.accepted.filter((m) => m.body.text?.includes('cannot be downloaded or read'));
      return found.length > 0 ? found : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(
      world.slack.accepted.filter((m) => m.body.text?.includes('cannot be downloaded or read')),
    ).toHaveLength(ops.length);
    expect(ops).toHaveLength(1);
    const finals = world.slack.accepted.filter(
      (m) => m.body.text?.includes(providerBatchId) && /\bfailed\b/.test(m.body.text),
    );
    expect(finals).toHaveLength(1);
  });
});
