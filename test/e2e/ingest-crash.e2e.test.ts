import { getBatchLog } from '@batchline/db';
import { BATCHLINE_BIN } from '@batchline/supervisor';
import { waitFor } from '@batchline/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  execBatchline,
  expectLandedExactlyOnce,
  ledgerRows,
  type PipelineWorld,
  startPipelineWorld,
} from './support/tracked-batch.ts';

/**
 * Ingest under breakage, with the services as processes on real NATS and Postgres: a download cut midway, the
 * fetcher SIGKILLed in the middle of a 20,000-line file, the persister SIGKILLed in the middle of a chunk. Each
 * time the batch must land exactly as the emulator served it, with its counts, and be announced once.
 */
describe('ingest survives broken downloads and killed services', () => {
  let world: PipelineWorld;
  let nats: Awaited<ReturnType<typeof connect>>;

  beforeAll(async () => {
    // Chunks of 1,000: a 20,000-line file makes twenty, so a crash lands between them.
    world = await startPipelineWorld('ingestcrash', { RESULTS_CHUNK_RECORDS: '1000' });
    await waitFor(
      'every service to start',
      () =>
        world.pipeline.services.every((service) =>
          world.pipeline.logs.some(
            (l) => l.service === service.name && l.line.includes(`${service.name} started`),
          ),
        ),
      { timeoutMs: 60_000 },
    );
    nats = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
  });

  afterAll(async () => {
    await nats?.close();
    await world?.close();
  });

  /** Creates a batch at the emulator and waits until it is over, so that its output file exists. */
  async function completedBatch(sentences: number, seed: number) {
    const providerBatchId = await world.createBatch(sentences, seed);
    const batch = await waitFor('the emulated batch to complete', async () => {
      const current = await world.provider.getBatch(providerBatchId);
      return current.status === 'completed' ? current : undefined;
    });
    const outputPath = `/v1/files/${batch.outputFileId}/content`;
    return { providerBatchId, outputPath };
  }

  async function track(providerBatchId: string): Promise<number> {
    const tracked = await execBatchline(process.execPath, [BATCHLINE_BIN, 'track', providerBatchId], {
      env: { ...world.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
    });
    const batchLogId = Number(/batch log (\d+)/.exec(tracked.stdout)?.[1]);
    expect(batchLogId).toBeGreaterThan(0);
    return batchLogId;
  }

  async function killRunning(name: 'fetcher' | 'persister') {
    const service = world.pipeline.services.find((s) => s.name === name && s.child.exitCode === null);
    if (!service) throw new Error(`no running ${name}`);
    service.kill('SIGKILL');
    expect(await service.exited).toBe('SIGKILL');
  }

  async function resultMessagesInStream(): Promise<number> {
    const jsm = await jetstreamManager(nats);
    const info = await jsm.streams.info(world.bus.naming.stream('BATCH_RESULTS'));
    return info.state.messages;
  }

  it('reopens a download cut midway and publishes every chunk once', async () => {
    const requests = 5000;
    const { providerBatchId, outputPath } = await completedBatch(requests, 10);
    const cut = world.emulator.injectHttpFault({
      method: 'GET',
      path: new RegExp(`^${outputPath}$`),
      truncateAfterBytes: 1_500_000,
    });
    const messagesBefore = await resultMessagesInStream();

    const batchLogId = await track(providerBatchId);
    const log = await expectLandedExactlyOnce(world, batchLogId, providerBatchId, requests);

    expect(cut.hits).toBe(1);
    const downloads = world.emulator.requests.filter((r) => r.path === outputPath);
    expect(downloads.map((d) => d.completed)).toEqual([false, true]);
    // Resumed in the same fetch, after the lines already handled: no chunk was published twice.
    expect((await resultMessagesInStream()) - messagesBefore).toBe(log.expectedChunks);
    const broke = world.pipeline.logs.filter(
      (l) => l.service === 'fetcher' && l.line.includes('download broke'),
    );
    expect(broke).toHaveLength(1);
  });

  // Both crashes in one test: a killed process's message comes back only after the consumer's 30 s ack wait,
  // so the two recoveries run side by side instead of one after the other.
  it('lands every batch exactly once when the fetcher dies mid-file and the persister mid-chunk', async () => {
    // 1. The fetcher is killed in the middle of a 20,000-line file: its output download stops for good after
    //    about 40 %, and some chunks have landed.
    const fileRequests = 20_000;
    const file = await completedBatch(fileRequests, 20);
    world.emulator.injectHttpFault({
      method: 'GET',
      path: new RegExp(`^${file.outputPath}$`),
      stallAfterBytes: 6_000_000,
    });
    const messagesBefore = await resultMessagesInStream();
    const fileLogId = await track(file.providerBatchId);
    await waitFor('some chunks of the file to land', async () => (await ledgerRows(world, fileLogId)) >= 3);
    await killRunning('fetcher');
    const landedBeforeCrash = await ledgerRows(world, fileLogId);
    expect((await getBatchLog(world.pool, fileLogId))?.status).toBe(1);
    world.pipeline.start('fetcher');

    // 2. The persister is killed in the middle of a chunk of another batch. Holding every catalogue row makes
    //    each chunk wait inside its COPY of associations (the foreign-key check): its outcomes are written and
    //    its transaction is open when the persister dies.
    const chunkRequests = 3000;
    const chunk = await completedBatch(chunkRequests, 30);
    const blocker = new pg.Client({ connectionString: world.db.url });
    await blocker.connect();
    let chunkLogId: number;
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM wl_spec_vps FOR UPDATE');
      chunkLogId = await track(chunk.providerBatchId);
      await waitFor('the persister to be inside a chunk transaction', async () => {
        const { rows } = await world.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'batchline-persister'
             AND state = 'active' AND wait_event_type = 'Lock' AND query LIKE 'COPY %'`,
        );
        return rows[0]!.n > 0;
      });
      await killRunning('persister');
      await blocker.query('ROLLBACK');
    } finally {
      await blocker.end();
    }
    // Nothing of the interrupted chunks committed (only, perhaps, the empty last chunk with the summary).
    const { rows } = await world.pool.query<{ ledger: number; results: number }>(
      `SELECT (SELECT coalesce(sum(records), 0) FROM batch_result_chunks WHERE batch_log_id = $1)::int AS ledger,
              (SELECT count(*) FROM batch_request_results WHERE batch_log_id = $1)::int AS results`,
      [chunkLogId],
    );
    expect(rows[0]).toEqual({ ledger: 0, results: 0 });
    world.pipeline.start('persister');

    // 3. Both land exactly as served, once.
    const fileLog = await expectLandedExactlyOnce(world, fileLogId, file.providerBatchId, fileRequests);
    const chunkLog = await expectLandedExactlyOnce(world, chunkLogId, chunk.providerBatchId, chunkRequests);
    expect(landedBeforeCrash).toBeLessThan(fileLog.expectedChunks!);
    // The second fetch of the file published its first chunks again under the same ids: JetStream kept one
    // copy of each, and the ledger would have made any copy a no-op.
    expect((await resultMessagesInStream()) - messagesBefore).toBe(
      fileLog.expectedChunks! + chunkLog.expectedChunks!,
    );
  });
});
