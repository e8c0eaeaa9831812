import { type Bus, connectBus } from '@batchline/bus';
import { countBatchesByState, getBatchJob, insertBatchJob, listJobBatchLogs } from '@batchline/db';
import { builtInJobTypes } from '@batchline/job-types';
import { startOutboxRelay } from '@batchline/outbox';
import {
  sampleBatchFinalizedEvent,
  silentLogger,
  testNamespace,
  testNatsUrl,
  waitFor,
} from '@batchline/testing';
import { describe, expect, it } from 'vitest';
import { retryFailedRequests } from '../src/actions/retry.ts';
import { createMonitorMetrics } from '../src/metrics.ts';
import { createRoundDecider } from '../src/retrier/round-decision.ts';
import { startRetrySweeper } from '../src/retrier/sweeper.ts';
import { claimDueRounds } from '../src/store/retry-rounds.ts';
import { requestLine, useActionBed } from './action-bed.ts';
import { failed, landSeedResults, ok, type SeedResult } from './support.ts';

describe('the retrier: automatic retry rounds and the job’s end', () => {
  const bed = useActionBed('monitor_retrier');
  const log = silentLogger;

  const newJob = (totalRequests: number, maxRounds: number, delayMs: number) =>
    insertBatchJob(bed.db.pool, {
      jobType: 'specific_viewpoint',
      provider: 'openai',
      model: 'gpt-4o-mini',
      origin: 'submit',
      totalRequests,
      retryPolicy: { codes: ['http_429', 'http_5xx'], maxRounds, delayMs },
    });

  /** Part 0 of job `batchJobId`: requests `ids` submitted to the emulator, `results` landed, final. */
  async function part(batchJobId: number, ids: number[], results: SeedResult[]) {
    const { id } = await bed.submittedBatch(ids, {
      name: 'part 0',
      ageMinutes: 30,
      model: 'gpt-4o-mini',
      state: 'completed',
      totalRequests: ids.length,
      results,
    });
    await bed.db.pool.query('UPDATE batch_jobs_vp_logs SET batch_job_id = $2, part_index = 0 WHERE id = $1', [
      id,
      batchJobId,
    ]);
    return id;
  }

  const decider = () => createRoundDecider({ pool: bed.db.pool, log, decided: () => {} });
  const deps = () => ({
    pool: bed.db.pool,
    log,
    metrics: createMonitorMetrics(() => countBatchesByState(bed.db.pool)),
    providers: { openai: bed.provider },
    firstPollDelayMs: 60_000,
    jobTypes: builtInJobTypes(),
  });
  const sweeper = (holder: string) =>
    startRetrySweeper({
      deps: deps(),
      log,
      holder,
      intervalMs: 3_600_000,
      finalized: () => {},
    });
  const rounds = async (batchJobId: number) =>
    (
      await bed.db.pool.query(
        `SELECT parent_batch_log_id, round, state, reason, retry_batch_log_id, due_at > now() + interval '50 seconds' AS later
         FROM batch_retry_rounds WHERE batch_job_id = $1 ORDER BY parent_batch_log_id`,
        [batchJobId],
      )
    ).rows;
  const jobEvents = async (batchJobId: number) =>
    (
      await bed.db.pool.query(`SELECT payload FROM outbox WHERE subject = 'job.finalized' AND msg_id = $1`, [
        `job-finalized:${batchJobId}`,
      ])
    ).rows.map((row) => row.payload);

  it('plans a round after the delay, submits it once across two replicas, and finalizes the job once', async () => {
    const job = await newJob(4, 3, 60_000);
    // rs-1 succeeded, rs-2 and rs-3 failed transiently, rs-4 can never succeed.
    const first = await part(
      job,
      [1, 2, 3, 4],
      [ok(10, 1), failed('http_500'), failed('http_429'), failed('invalid_content')],
    );
    const decide = decider();

    expect((await decide(sampleBatchFinalizedEvent(first)))?.decision).toEqual({
      state: 'planned',
      round: 1,
      requests: 2,
    });
    // The event again (redelivery): the decision stands, no second round.
    expect((await decide(sampleBatchFinalizedEvent(first)))?.decision).toEqual({ state: 'decided_before' });
    expect(await rounds(job)).toEqual([
      {
        parent_batch_log_id: String(first),
        round: 1,
        state: 'planned',
        reason: null,
        retry_batch_log_id: null,
        later: true,
      },
    ]);

    const [a, b] = [sweeper('replica-a'), sweeper('replica-b')];
    try {
      // Not due yet.
      expect(await a.runOnce()).toBe(0);
      await bed.db.pool.query('UPDATE batch_retry_rounds SET due_at = now() WHERE batch_job_id = $1', [job]);
      const settled = await Promise.all([a.runOnce(), b.runOnce()]);
      expect(settled[0]! + settled[1]!).toBe(1);
    } finally {
      await a.stop();
      await b.stop();
    }
    const batches = await listJobBatchLogs(bed.db.pool, job);
    expect(batches.map((batch) => [batch.partIndex, batch.retryRound, batch.parentBatchLogId])).toEqual([
      [0, 0, null],
      [null, 1, first],
    ]);
    const retry = batches[1]!;
    expect((await rounds(job))[0]).toMatchObject({
      state: 'submitted',
      retry_batch_log_id: String(retry.id),
    });
    let text = '';
    for await (const chunk of await bed.provider.openFile(retry.inputFileId!))
      text += (chunk as Buffer).toString();
    expect(text.split('\n').filter(Boolean).sort()).toEqual([requestLine(2), requestLine(3)].sort());
    // The job is not final while its round is pending.
    expect(await jobEvents(job)).toEqual([]);

    // Round 1 succeeds: nothing is left to retry, the job ends once.
    await landSeedResults(bed.db.pool, retry.id, [ok(10, 1), ok(10, 1)], {
      firstSentence: 2,
      finalState: 'completed',
    });
    const end = await decide(sampleBatchFinalizedEvent(retry.id));
    expect(end).toMatchObject({ decision: { state: 'none', reason: 'nothing_retryable' } });
    expect(end?.finalized).toMatchObject({
      batchJobId: job,
      outcome: 'partially_succeeded',
      totalRequests: 4,
      succeededRequests: 3,
      failedRequests: 1,
      batches: 2,
      retryRounds: 1,
      topErrors: [{ code: 'invalid_content', count: 1 }],
    });
    expect((await decide(sampleBatchFinalizedEvent(retry.id)))?.finalized).toBeNull();
    expect(await jobEvents(job)).toHaveLength(1);
    expect(await getBatchJob(bed.db.pool, job)).toMatchObject({ outcome: 'partially_succeeded' });
  });

  it('finalizes a job whose rounds are spent with its retryable failures left failed', async () => {
    const job = await newJob(2, 0, 0);
    const first = await part(job, [1, 2], [ok(10, 1), failed('http_500')]);
    const outcome = await decider()(sampleBatchFinalizedEvent(first));
    expect(outcome?.decision).toEqual({ state: 'none', reason: 'rounds_spent' });
    expect(outcome?.finalized).toMatchObject({
      outcome: 'partially_succeeded',
      succeededRequests: 1,
      failedRequests: 1,
      retryRounds: 0,
      topErrors: [{ code: 'http_500', count: 1 }],
    });
    expect(await jobEvents(job)).toHaveLength(1);
  });

  it('over NATS: a replayed batch.finalized on two consuming replicas makes one round, and one job.finalized', async () => {
    const bus: Bus = await connectBus({
      servers: [testNatsUrl()],
      name: 'monitor-retrier-test',
      namespace: testNamespace('retrier'),
      log,
    });
    const relay = startOutboxRelay({ pool: bed.db.pool, publisher: bus, log });
    const [a, b] = [sweeper('replica-a'), sweeper('replica-b')];
    try {
      await bus.ensureTopology();
      const decide = decider();
      // Two replicas consume the one durable consumer, as two monitor processes do.
      for (let replica = 0; replica < 2; replica++)
        bus.consume('monitor-retrier', async (e) => void (await decide(e)));
      const drained = async () => {
        const backlog = await bus.backlog();
        const retrier = backlog.consumers.find((consumer) => consumer.consumer === 'monitor-retrier');
        return retrier !== undefined && retrier.pending === 0 && retrier.ackPending === 0;
      };
      const finalizedTwice = async (batchLogId: number) => {
        const event = sampleBatchFinalizedEvent(batchLogId);
        await bus.publish('batch.finalized', event, { msgId: `finalized:${batchLogId}` });
        await bus.publish('batch.finalized', event, { msgId: `replay:1:finalized:${batchLogId}` });
        await waitFor('batch.finalized consumed', drained, { timeoutMs: 30_000, intervalMs: 100 });
      };

      const job = await newJob(2, 3, 0);
      const first = await part(job, [1, 2], [ok(10, 1), failed('http_503')]);
      await finalizedTwice(first);
      expect(await rounds(job)).toMatchObject([{ round: 1, state: 'planned' }]);
      expect((await Promise.all([a.runOnce(), b.runOnce()])).reduce((x, y) => x + y)).toBe(1);
      const retry = (await listJobBatchLogs(bed.db.pool, job))[1]!;
      await landSeedResults(bed.db.pool, retry.id, [ok(10, 1)], {
        firstSentence: 2,
        finalState: 'completed',
      });
      await finalizedTwice(retry.id);
      expect(await rounds(job)).toMatchObject([
        { round: 1, state: 'submitted', retry_batch_log_id: String(retry.id) },
        { round: 2, state: 'none', reason: 'nothing_retryable' },
      ]);

      relay.kick();
      await waitFor(
        'job.finalized published',
        async () =>
          (
            await bed.db.pool.query(`SELECT 1 FROM outbox WHERE msg_id = $1 AND published_at IS NOT NULL`, [
              `job-finalized:${job}`,
            ])
          ).rowCount === 1,
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const published = [];
      for await (const message of bus.readStream('BATCH_FINAL', { subject: 'job.finalized' })) {
        const event = JSON.parse(Buffer.from(message.data).toString());
        // The jobs the tests above finalized are published too.
        if (event.batchJobId === job) published.push(event);
      }
      expect(published).toHaveLength(1);
      expect(published[0]).toMatchObject({
        batchJobId: job,
        outcome: 'succeeded',
        succeededRequests: 2,
        retryRounds: 1,
      });
    } finally {
      await a.stop();
      await b.stop();
      await relay.stop();
      await bus.deleteTopology();
      await bus.drain();
    }
  }, 90_000);

  it('a replica that died holding a round (even after its retry was made) loses nothing and doubles nothing', async () => {
    const job = await newJob(2, 3, 0);
    const first = await part(job, [1, 2], [ok(10, 1), failed('http_429')]);
    await decider()(sampleBatchFinalizedEvent(first));
    // A replica claims the round, makes the retry, and dies before settling it; its lease has run out.
    expect(await claimDueRounds(bed.db.pool, 'replica-dead', -1, 10)).toHaveLength(1);
    await retryFailedRequests(
      deps(),
      {
        principal: { actor: 'retrier', role: 'operator' },
        requestId: 'r',
        clientIp: 'local',
        method: 'RETRIER',
        route: 'test',
        audited: false,
      },
      first,
    );
    const other = sweeper('replica-b');
    try {
      expect(await other.runOnce()).toBe(1);
      expect(await other.runOnce()).toBe(0);
    } finally {
      await other.stop();
    }
    const batches = await listJobBatchLogs(bed.db.pool, job);
    expect(batches.map((batch) => batch.retryRound)).toEqual([0, 1]);
    expect(await rounds(job)).toMatchObject([
      { state: 'submitted', retry_batch_log_id: String(batches[1]!.id) },
    ]);
  });

  it('leaves a batch outside any job alone', async () => {
    const { id } = await bed.submittedBatch([1], {
      name: 'no job',
      ageMinutes: 30,
      model: 'gpt-4o-mini',
      state: 'completed',
      totalRequests: 1,
      results: [failed('http_500')],
    });
    expect(await decider()(sampleBatchFinalizedEvent(id))).toBeNull();
  });
});
