import { type Bus, type Consumption, connectBus } from '@batchline/bus';
import { type StatusChangedEvent, Subjects } from '@batchline/events';
import { silentLogger, testNamespace, testNatsUrl, waitFor } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusalHandler, statedTokenLimit } from '../src/refusals.ts';
import { type BatcherWorld, batcherWorld, defaultPolicy, range } from './support.ts';

const CLOCK = { validatingMs: 1_000, inProgressMs: 60_000, finalizingMs: 1_000 };
const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

/** The emulator's time, stepped by the tests. */
function manualClock() {
  let current = Date.UTC(2026, 0, 1);
  return {
    now: () => current,
    advance(ms: number) {
      current += ms;
    },
  };
}

/** A world whose emulator enforces an enqueued-token limit for gpt-4o-mini, and a bus the batcher consumes. */
interface RefusalWorld {
  world: BatcherWorld;
  bus: Bus;
  clock: ReturnType<typeof manualClock>;
  refusals: Consumption;
  /** Prompt tokens of one queued request (every request of these tests has the same text). */
  perRequest: number;
  close(): Promise<void>;
}

async function refusalWorld(label: string, limitInRequests: number): Promise<RefusalWorld> {
  const clock = manualClock();
  // The limit is known in tokens per request only once a request is queued: the emulator reads it at each create.
  const limit = { 'gpt-4o-mini': 0 };
  const world = await batcherWorld(label, { clock: CLOCK, now: clock.now, enqueuedTokenLimit: limit });
  await world.enqueue([1]);
  const { rows } = await world.pool.query<{ tokens: number }>(
    'SELECT estimated_tokens AS tokens FROM batcher_requests',
  );
  await world.pool.query('DELETE FROM batcher_requests');
  const perRequest = rows[0]!.tokens;
  limit['gpt-4o-mini'] = perRequest * limitInRequests;
  const bus = await connectBus({
    servers: [testNatsUrl()],
    name: label,
    namespace: testNamespace(label),
    log: silentLogger,
  });
  await bus.ensureTopology();
  const refusals = bus.consume(
    'batcher-refusals',
    refusalHandler({ pool: world.pool, log: silentLogger, service: 'batcher' }),
  );
  return {
    world,
    bus,
    clock,
    refusals,
    perRequest,
    async close() {
      await refusals.stop();
      await bus.deleteTopology();
      await bus.drain();
      await world.close();
    },
  };
}

/**
 * The poller's part, for one batch log: reads the batch at the provider, records a terminal status as the poller
 * does (`provider_terminal_at`), and publishes its `batch.status.changed` (under `msgId`, by default the poller's).
 */
async function observe(t: RefusalWorld, batchLogId: number, msgId?: string): Promise<StatusChangedEvent> {
  const { rows } = await t.world.pool.query<{ batch_id: string }>(
    'SELECT batch_id FROM batch_jobs_vp_logs WHERE id = $1',
    [batchLogId],
  );
  const batch = await t.world.provider.getBatch(rows[0]!.batch_id);
  const terminal = TERMINAL.has(batch.status);
  await t.world.pool.query(
    `UPDATE batch_jobs_vp_logs SET provider_status = $2,
       provider_terminal_at = CASE WHEN $3::boolean THEN COALESCE(provider_terminal_at, now()) ELSE provider_terminal_at END
     WHERE id = $1`,
    [batchLogId, batch.status, terminal],
  );
  const event: StatusChangedEvent = {
    batchLogId,
    provider: 'openai',
    providerBatchId: batch.id,
    previousProviderStatus: 'validating',
    providerStatus: batch.status,
    terminal,
    reason: terminal ? (batch.status as StatusChangedEvent['reason']) : null,
    inputFileId: batch.inputFileId,
    outputFileId: batch.outputFileId,
    errorFileId: batch.errorFileId,
    requestCounts: batch.requestCounts,
    providerErrors: batch.errors,
    observedAt: new Date().toISOString(),
  };
  await t.bus.publish(Subjects.statusChanged, event, {
    msgId: msgId ?? `status:${batchLogId}:${batch.status}`,
  });
  return event;
}

/** Waits until the batcher's consumer has settled every status event published so far. */
const drained = (t: RefusalWorld) =>
  waitFor('batcher-refusals drained', async () => {
    const backlog = await t.bus.backlog();
    const own = backlog.consumers.find((consumer) => consumer.consumer === 'batcher-refusals');
    return own !== undefined && own.pending === 0 && own.ackPending === 0;
  });

const batcherBatches = async (t: RefusalWorld) =>
  (
    await t.world.pool.query<{
      id: string;
      state: string;
      batch_log_id: string | null;
      refusal_code: string | null;
      provider_token_limit: string | null;
    }>('SELECT id, state, batch_log_id, refusal_code, provider_token_limit FROM batcher_batches ORDER BY id')
  ).rows;

const pendingIds = async (t: RefusalWorld) =>
  (
    await t.world.pool.query<{ request_id: string }>(
      'SELECT request_id FROM batcher_requests WHERE planned_batch_id IS NULL ORDER BY id',
    )
  ).rows.map((row) => Number(row.request_id));

const refusalMessages = async (t: RefusalWorld) =>
  (
    await t.world.pool.query<{ payload: { kind: string; message: string } }>(
      "SELECT payload FROM outbox WHERE subject = 'ops.error'",
    )
  ).rows
    .map((row) => row.payload)
    .filter((payload) => payload.kind === 'batch_refused');

/** Each request id and the recorded batcher batches (batch logs) it is in. */
const recordedLandings = async (t: RefusalWorld) => {
  const { rows } = await t.world.pool.query<{ id: string; batch_log_id: string }>(
    `SELECT unnest(r.sentence_ids) AS id, r.batch_log_id FROM batch_request_ids r
     JOIN batcher_batches b ON b.batch_log_id = r.batch_log_id AND b.state = 'recorded'`,
  );
  const landed = new Map<number, number[]>();
  for (const row of rows)
    landed.set(Number(row.id), [...(landed.get(Number(row.id)) ?? []), Number(row.batch_log_id)]);
  return landed;
};

const providerStatusOf = async (t: RefusalWorld, batchLogId: string) => {
  const { rows } = await t.world.pool.query<{ batch_id: string }>(
    'SELECT batch_id FROM batch_jobs_vp_logs WHERE id = $1',
    [batchLogId],
  );
  return (await t.world.provider.getBatch(rows[0]!.batch_id)).status;
};

/** Four requests a batch; the default interval (an hour) has fired for requests two hours on. */
const policy = { ...defaultPolicy, maxRequests: 4 };
const later = () => new Date(Date.now() + 2 * 3_600_000);

describe('batcher: a batch the provider fails for its enqueued-token limit', () => {
  let t: RefusalWorld;
  beforeAll(async () => {
    // Room at the provider for five requests' tokens; the batcher's own ceiling (10M) is far above it.
    t = await refusalWorld('batcher_refusals', 5);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('re-queues its requests, announces it once, holds the model back, and sends them once room is back', async () => {
    await t.world.enqueue(range(1, 4));
    expect((await t.world.tick({ policyOf: () => policy, now: later })).map((o) => o.outcome)).toEqual([
      'recorded',
    ]);
    await t.world.enqueue(range(5, 4));
    // The batcher's ceiling lets the second batch go; the provider creates it, then fails it at validation.
    expect((await t.world.tick({ policyOf: () => policy, now: later })).map((o) => o.outcome)).toEqual([
      'recorded',
    ]);
    t.clock.advance(CLOCK.validatingMs);
    const [first, second] = await batcherBatches(t);
    expect(await providerStatusOf(t, first!.batch_log_id!)).toBe('in_progress');
    const refused = await observe(t, Number(second!.batch_log_id));
    expect(refused.providerErrors[0]?.code).toBe('token_limit_exceeded');
    await drained(t);

    expect(await batcherBatches(t)).toEqual([
      { ...first, state: 'recorded' },
      {
        ...second,
        state: 'refused',
        refusal_code: 'token_limit_exceeded',
        provider_token_limit: String(5 * t.perRequest),
      },
    ]);
    expect(await pendingIds(t)).toEqual(range(5, 4));
    const messages = await refusalMessages(t);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.message).toContain('queued again');

    // The first batch still runs: the same group does not go straight back into the same refusal.
    expect(await t.world.tick({ policyOf: () => policy, now: later })).toEqual([]);

    // It ends (the poller records that); the re-queued requests go out first, within the limit the provider
    // stated (five requests' tokens), not the batcher's own ceiling.
    t.clock.advance(CLOCK.inProgressMs + CLOCK.finalizingMs);
    await observe(t, Number(first!.batch_log_id));
    await drained(t);
    await t.world.enqueue(range(9, 4));
    const wider = { ...policy, maxRequests: 8 };
    expect((await t.world.tick({ policyOf: () => wider, now: later })).map((o) => o.outcome)).toEqual([
      'recorded',
    ]);
    t.clock.advance(CLOCK.validatingMs);
    const third = (await batcherBatches(t))[2]!;
    expect(third.state).toBe('recorded');
    expect(await providerStatusOf(t, third.batch_log_id!)).toBe('in_progress');
    expect(await pendingIds(t)).toEqual(range(10, 3));
    const landed = await recordedLandings(t);
    expect([...landed.keys()].sort((a, b) => a - b)).toEqual(range(1, 9));
    expect([...landed.values()].filter((logs) => logs.length !== 1)).toEqual([]);
    expect(await refusalMessages(t)).toHaveLength(1);
    // The failed batch's job retries nothing by itself: the monitor's retrier does not send its requests again.
    const jobs = await t.world.pool.query("SELECT retry_policy FROM batch_jobs WHERE origin = 'batcher'");
    expect(jobs.rows.map((row) => row.retry_policy)).toEqual([{}, {}, {}]);
  });

  it('changes nothing when the same status event is delivered again', async () => {
    const refused = (await batcherBatches(t))[1]!;
    const before = {
      batches: await batcherBatches(t),
      requests: (await t.world.pool.query('SELECT id, planned_batch_id FROM batcher_requests ORDER BY id'))
        .rows,
      outbox: (await t.world.pool.query('SELECT msg_id FROM outbox ORDER BY id')).rows,
    };
    // A replayed event (its own msg id, as `batchline replay` publishes it) reaches the consumer again.
    await observe(t, Number(refused.batch_log_id), `replay:test:${refused.batch_log_id}`);
    await drained(t);
    expect({
      batches: await batcherBatches(t),
      requests: (await t.world.pool.query('SELECT id, planned_batch_id FROM batcher_requests ORDER BY id'))
        .rows,
      outbox: (await t.world.pool.query('SELECT msg_id FROM outbox ORDER BY id')).rows,
    }).toEqual(before);
  });

  it('reads the limit from the provider message', () => {
    expect(
      statedTokenLimit(
        'Enqueued token limit reached for gpt-4o in organization org-abc. Limit: 90,000 enqueued tokens. Please try again once some in_progress batches have been completed.',
      ),
    ).toBe(90_000);
    expect(statedTokenLimit('Enqueued token limit reached.')).toBeNull();
    expect(statedTokenLimit(null)).toBeNull();
  });
});

describe('batcher: a ceiling below the provider limit', () => {
  let t: RefusalWorld;
  beforeAll(async () => {
    t = await refusalWorld('batcher_under_limit', 6);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('never earns a refusal: groups wait for room instead', async () => {
    await t.world.enqueue(range(1, 12));
    // The provider would take six requests' tokens: the ceiling is below its limit.
    const deps = { policyOf: () => policy, now: later, maxEnqueuedTokens: Math.floor(4.5 * t.perRequest) };
    for (let round = 0; round < 3; round += 1) {
      // One batch of four fits under the ceiling of four and a half requests' tokens; no more while it runs.
      expect((await t.world.tick(deps)).map((o) => o.outcome)).toEqual(['recorded']);
      expect(await t.world.tick(deps)).toEqual([]);
      t.clock.advance(CLOCK.validatingMs);
      const latest = (await batcherBatches(t)).at(-1)!;
      expect(await providerStatusOf(t, latest.batch_log_id!)).toBe('in_progress');
      t.clock.advance(CLOCK.inProgressMs + CLOCK.finalizingMs);
      await observe(t, Number(latest.batch_log_id));
    }
    await drained(t);
    expect((await batcherBatches(t)).map((batch) => batch.state)).toEqual([
      'recorded',
      'recorded',
      'recorded',
    ]);
    expect(await pendingIds(t)).toEqual([]);
    expect(await refusalMessages(t)).toEqual([]);
  });
});

describe('batcher: a refusal with none of the model’s batches in flight', () => {
  let t: RefusalWorld;
  beforeAll(async () => {
    // Other batches of the organisation hold the rest: room for three requests' tokens only.
    t = await refusalWorld('batcher_refusal_backoff', 3);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('waits BATCHER_REFUSAL_BACKOFF, then sends what fits under the stated limit', async () => {
    await t.world.enqueue(range(1, 4));
    expect((await t.world.tick({ policyOf: () => policy, now: later })).map((o) => o.outcome)).toEqual([
      'recorded',
    ]);
    t.clock.advance(CLOCK.validatingMs);
    await observe(t, Number((await batcherBatches(t))[0]!.batch_log_id));
    await drained(t);
    expect(await pendingIds(t)).toEqual(range(1, 4));
    expect(await t.world.tick({ policyOf: () => policy, now: later, refusalBackoffMs: 600_000 })).toEqual([]);
    // The backoff passed: three requests go out (the stated limit), the fourth waits for room.
    expect(
      (await t.world.tick({ policyOf: () => policy, now: later, refusalBackoffMs: 0 })).map((o) => o.outcome),
    ).toEqual(['recorded']);
    t.clock.advance(CLOCK.validatingMs);
    const retried = (await batcherBatches(t))[1]!;
    expect(await providerStatusOf(t, retried.batch_log_id!)).toBe('in_progress');
    expect(await pendingIds(t)).toEqual([4]);
  });
});
