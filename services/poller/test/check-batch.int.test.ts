import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkBatch } from '../src/check-batch.ts';
import { runDueProbes } from '../src/provider-health.ts';
import { leaseBatch, leaseDueBatches } from '../src/store/leases.ts';
import { type PollerWorld, pollerWorld } from './support.ts';

const CLOCK = { validatingMs: 1000, inProgressMs: 5000, finalizingMs: 1000 };
const WHOLE_RUN = CLOCK.validatingMs + CLOCK.inProgressMs + CLOCK.finalizingMs;

describe('checkBatch against the OpenAI emulator', () => {
  let world: PollerWorld;

  beforeAll(async () => {
    world = await pollerWorld('poller_openai', { clock: CLOCK });
  });
  afterEach(async () => {
    world.scriptNext(undefined);
    world.emulator.clearHttpFaults();
    await world.pool.query('DELETE FROM provider_pauses');
  });
  afterAll(async () => world?.close());

  /** The probe interval has passed (the pause started with the deps' 60 s). */
  const probeDueNow = async () => {
    await world.pool.query('UPDATE provider_pauses SET paused_until = now()');
    await new Promise((resolve) => setTimeout(resolve, 5));
  };
  const batchPath = (providerBatchId: string) => new RegExp(`/v1/batches/${providerBatchId}$`);

  it('publishes one event per transition, with request counts, through to completed; then stops polling', async () => {
    const { batchLogId, providerBatchId } = await world.create('openai');
    expect(await world.check(batchLogId)).toEqual({ outcome: 'transition' });
    expect(await world.check(batchLogId)).toEqual({ outcome: 'unchanged' });
    world.advance(CLOCK.validatingMs);
    expect((await world.check(batchLogId)).outcome).toBe('transition');
    world.advance(CLOCK.inProgressMs);
    expect((await world.check(batchLogId)).outcome).toBe('transition');
    world.advance(CLOCK.finalizingMs);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'terminal', completed: true });

    const events = await world.statusEvents(batchLogId);
    expect(events.map((e) => [e.previousProviderStatus, e.providerStatus, e.terminal, e.reason])).toEqual([
      [null, 'validating', false, null],
      ['validating', 'in_progress', false, null],
      ['in_progress', 'finalizing', false, null],
      ['finalizing', 'completed', true, 'completed'],
    ]);
    expect(events[2]!.requestCounts).toEqual({ total: 4, completed: 4, failed: 0 });
    expect(events[3]).toMatchObject({
      providerBatchId,
      requestCounts: { total: 4, completed: 4, failed: 0 },
    });
    expect(events[3]!.outputFileId).toMatch(/^file-/);

    const row = await world.row(batchLogId);
    expect(row).toMatchObject({
      poll_attempt: 5,
      lease_owner: null,
      last_checked_by: 'test',
      poll_errors: 0,
    });
    expect(row.provider_terminal_at).toBeInstanceOf(Date);
    expect(row.terminal_event).toMatchObject({ msgId: `status:${batchLogId}:completed` });
    const due = await leaseDueBatches(world.pool, { owner: 'x', limit: 1000, leaseMs: 1000 });
    expect(due.map((b) => b.id)).not.toContain(batchLogId);
  });

  it('schedules the next check on the grid anchored at submission', async () => {
    const { batchLogId } = await world.create('openai');
    await world.pool.query(
      `UPDATE batch_jobs_vp_logs SET created_at = now() - interval '50 seconds' WHERE id = $1`,
      [batchLogId],
    );
    await world.check(batchLogId);
    // Schedule 1m, 2m: the first check is due 60 s after submission, i.e. about 10 s from now.
    const { next_poll_in_s } = await world.row(batchLogId);
    expect(next_poll_in_s).toBeGreaterThan(8);
    expect(next_poll_in_s).toBeLessThanOrEqual(10.5);
  });

  it('ends a completed batch with no output file (every request failed) with its error file', async () => {
    world.scriptNext({ status: 'completed', noOutput: true });
    const { batchLogId } = await world.create('openai');
    world.advance(WHOLE_RUN);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'terminal', completed: true });
    const [event] = await world.statusEvents(batchLogId);
    expect(event).toMatchObject({ reason: 'completed', outputFileId: null, requestCounts: { failed: 4 } });
    expect(event!.errorFileId).toMatch(/^file-/);
  });

  it.each([
    [
      'expired',
      { status: 'expired', completedFraction: 0.5 } as const,
      CLOCK.validatingMs + CLOCK.inProgressMs,
    ],
    ['cancelled', { status: 'cancelled', completedFraction: 0.5 } as const, WHOLE_RUN],
  ])('ends an %s batch with its partial output (landed before status 9)', async (reason, outcome, after) => {
    world.scriptNext(outcome);
    const { batchLogId } = await world.create('openai', 10);
    world.advance(after);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'terminal', completed: false });
    const [event] = await world.statusEvents(batchLogId);
    expect(event).toMatchObject({ reason, terminal: true, requestCounts: { total: 10 } });
    expect(event!.outputFileId).toMatch(/^file-/);
    expect(event!.errorFileId).toMatch(/^file-/);
  });

  it('ends a failed batch with its validation errors in the event and in log_details', async () => {
    world.scriptNext({
      status: 'failed',
      errors: [{ code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', line: 2 }],
    });
    const { batchLogId } = await world.create('openai');
    world.advance(CLOCK.validatingMs);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'terminal', completed: false });
    const [event] = await world.statusEvents(batchLogId);
    const providerErrors = [
      { code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', line: 2 },
    ];
    expect(event).toMatchObject({ reason: 'failed', providerErrors });
    expect((await world.row(batchLogId)).log_details).toMatchObject({ reason: 'failed', providerErrors });
  });

  it('treats an unknown status as not terminal, and never steps back from a terminal one', async () => {
    const { batchLogId, providerBatchId } = await world.create('openai');
    const raw = (await world.openai.getBatch(providerBatchId)).raw as Record<string, unknown>;
    world.emulator.injectHttpFault({
      method: 'GET',
      path: batchPath(providerBatchId),
      status: 200,
      body: { ...raw, status: 'paused_by_provider' },
    });
    expect((await world.check(batchLogId)).outcome).toBe('transition');
    expect((await world.row(batchLogId)).provider_terminal_at).toBeNull();

    world.advance(WHOLE_RUN);
    expect((await world.check(batchLogId)).outcome).toBe('terminal');
    // A stale read after the terminal one, and a repeated terminal one: no regression, no second event.
    world.emulator.injectHttpFault({
      method: 'GET',
      path: batchPath(providerBatchId),
      status: 200,
      body: { ...raw, status: 'in_progress' },
    });
    expect((await world.check(batchLogId)).outcome).toBe('unchanged');
    expect((await world.check(batchLogId)).outcome).toBe('terminal');
    expect((await world.row(batchLogId)).provider_status).toBe('completed');
    const events = await world.statusEvents(batchLogId);
    expect(events.map((e) => e.providerStatus)).toEqual(['paused_by_provider', 'completed']);
  });

  it('ends a batch the provider no longer knows only after a confirming re-check', async () => {
    const other = await world.create('openai');
    const batchLogId = await world.adopt('openai', 'batch_forgotten_by_provider');
    expect(await world.check(batchLogId)).toEqual({ outcome: 'rescheduled', errorKind: 'not_found' });
    const pending = await world.row(batchLogId);
    expect(pending.not_found_at).toBeInstanceOf(Date);
    expect(pending.next_poll_in_s).toBeGreaterThan(25);
    expect(await world.statusEvents(batchLogId)).toEqual([]);

    await world.check(other.batchLogId);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'terminal', completed: false });
    expect(await world.statusEvents(batchLogId)).toEqual([
      expect.objectContaining({ providerStatus: 'not_found', terminal: true, reason: 'not_found' }),
    ]);
    expect((await world.row(batchLogId)).log_details).toMatchObject({ reason: 'not_found' });
    expect((await world.row(other.batchLogId)).provider_terminal_at).toBeNull();
  });

  it('does not end any batch when everything answers 404 (a wrong base URL), and resumes after a probe', async () => {
    const batches = await Promise.all([1, 2, 3].map(() => world.create('openai')));
    const everything = world.emulator.injectHttpFault({
      path: /^\/v1\/batches/,
      status: 404,
      times: Infinity,
    });
    for (const { batchLogId } of batches) {
      expect((await world.check(batchLogId)).outcome).toBe('rescheduled');
      expect(await world.check(batchLogId)).toEqual({ outcome: 'paused', errorKind: 'not_found' });
    }
    for (const { batchLogId } of batches) {
      expect(await world.statusEvents(batchLogId)).toEqual([]);
      expect((await world.row(batchLogId)).status).toBe(1);
    }
    const pause = await world.pool.query('SELECT kind, needs_probe FROM provider_pauses');
    expect(pause.rows).toEqual([{ kind: 'not_found', needs_probe: true }]);
    expect((await world.opsEvents()).filter((e) => e.kind === 'provider_not_found')).toHaveLength(1);
    expect(await leaseDueBatches(world.pool, { owner: 'x', limit: 1000, leaseMs: 1000 })).toEqual([]);

    // The probe fails while the fault lasts, and resumes checks once the provider answers again.
    const probe = {
      ...world.deps,
      probeIntervalMs: 1,
      oldestNotFoundBatch: async () => batches[0]!.providerBatchId,
    };
    await probeDueNow();
    expect(await runDueProbes(probe)).toEqual([]);
    everything.remove();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await runDueProbes(probe)).toEqual(['openai']);
    expect((await world.pool.query('SELECT * FROM provider_pauses')).rowCount).toBe(0);
    expect((await world.check(batches[0]!.batchLogId)).outcome).toBe('transition');
    expect((await world.row(batches[0]!.batchLogId)).not_found_at).toBeNull();
  });

  it('reschedules a 5xx with a growing backoff, no event, and the error recorded', async () => {
    const { batchLogId, providerBatchId } = await world.create('openai');
    world.emulator.injectHttpFault({
      method: 'GET',
      path: batchPath(providerBatchId),
      status: 503,
      times: 2,
    });
    expect(await world.check(batchLogId)).toEqual({ outcome: 'rescheduled', errorKind: 'unavailable' });
    const first = await world.row(batchLogId);
    expect(first).toMatchObject({ poll_errors: 1, poll_attempt: 0 });
    expect(first.last_poll_error).toMatch(/503/);
    expect(first.next_poll_in_s).toBeGreaterThan(8);
    expect(first.next_poll_in_s).toBeLessThanOrEqual(10);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'rescheduled', errorKind: 'unavailable' });
    const second = await world.row(batchLogId);
    expect(second.poll_errors).toBe(2);
    expect(second.next_poll_in_s).toBeGreaterThan(18);
    expect(await world.statusEvents(batchLogId)).toEqual([]);
    expect((await world.check(batchLogId)).outcome).toBe('transition');
    expect(await world.row(batchLogId)).toMatchObject({ poll_errors: 0, last_poll_error: null });
  });

  it('times out a hanging status call and reschedules it', async () => {
    const { batchLogId, providerBatchId } = await world.create('openai');
    world.emulator.injectHttpFault({ method: 'GET', path: batchPath(providerBatchId), delayMs: Infinity });
    expect(await world.check(batchLogId)).toEqual({ outcome: 'rescheduled', errorKind: 'timeout' });
    expect((await world.row(batchLogId)).lease_owner).toBeNull();
  });

  it('pauses every check against the provider on a 429 until Retry-After, announced once', async () => {
    const first = await world.create('openai');
    const second = await world.create('openai');
    const anthropic = await world.create('anthropic');
    world.emulator.injectHttpFault({
      method: 'GET',
      path: /^\/v1\/batches\//,
      status: 429,
      headers: { 'retry-after': '120' },
      times: 2,
    });
    expect(await world.check(first.batchLogId)).toEqual({ outcome: 'paused', errorKind: 'rate_limited' });
    expect(await world.check(second.batchLogId)).toEqual({ outcome: 'paused', errorKind: 'rate_limited' });
    const { rows } = await world.pool.query(
      `SELECT kind, needs_probe, extract(epoch FROM paused_until - now())::float8 AS left_s FROM provider_pauses`,
    );
    expect(rows).toEqual([{ kind: 'rate_limited', needs_probe: false, left_s: expect.any(Number) }]);
    expect(rows[0].left_s).toBeGreaterThan(110);
    // Not one poller checks an OpenAI batch now; Anthropic's go on.
    await world.pool.query('UPDATE batch_jobs_vp_logs SET next_poll_at = now() WHERE status = 1');
    const due = await leaseDueBatches(world.pool, { owner: 'x', limit: 1000, leaseMs: 1000 });
    expect(new Set(due.map((b) => b.provider))).toEqual(new Set(['anthropic']));
    expect(due.map((b) => b.id)).toContain(anthropic.batchLogId);
    expect((await world.row(first.batchLogId)).poll_errors).toBe(0);
    expect((await world.opsEvents()).filter((e) => e.kind === 'provider_rate_limited')).toHaveLength(1);
    await world.pool.query('UPDATE batch_jobs_vp_logs SET lease_until = NULL');
  });

  it('pauses the provider on an exhausted quota until a probe passes; the batch stays pending', async () => {
    const { batchLogId, providerBatchId } = await world.create('openai');
    world.emulator.injectHttpFault({
      method: 'GET',
      path: batchPath(providerBatchId),
      status: 429,
      body: {
        error: {
          message: 'You exceeded your current quota',
          type: 'insufficient_quota',
          code: 'insufficient_quota',
        },
      },
    });
    expect(await world.check(batchLogId)).toEqual({ outcome: 'paused', errorKind: 'quota' });
    expect((await world.pool.query('SELECT kind, needs_probe FROM provider_pauses')).rows).toEqual([
      { kind: 'quota', needs_probe: true },
    ]);
    expect((await world.row(batchLogId)).status).toBe(1);
    expect((await world.opsEvents()).some((e) => e.kind === 'provider_quota' && e.severity === 'high')).toBe(
      true,
    );
  });

  it('pauses on 401, alerts once as critical, fails no batch, and resumes by itself after a good probe', async () => {
    const batches = [await world.create('openai'), await world.create('openai')];
    world.emulator.injectHttpFault({ path: /^\/v1\//, status: 401, times: 3 });
    for (const { batchLogId } of batches) {
      expect(await world.check(batchLogId)).toEqual({ outcome: 'paused', errorKind: 'auth' });
      expect((await world.row(batchLogId)).status).toBe(1);
    }
    const alerts = (await world.opsEvents()).filter((e) => e.kind === 'provider_auth');
    expect(alerts).toEqual([expect.objectContaining({ severity: 'critical', provider: 'openai' })]);
    expect(JSON.stringify(alerts)).not.toContain('sk-poller-test');

    const probe = { ...world.deps, probeIntervalMs: 1, oldestNotFoundBatch: async () => null };
    await probeDueNow();
    expect(await runDueProbes(probe)).toEqual([]); // the third 401
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await runDueProbes(probe)).toEqual(['openai']);
    expect((await world.check(batches[0]!.batchLogId)).outcome).toBe('transition');
  });

  it('records and alerts an error it does not classify, and carries on', async () => {
    const { batchLogId, providerBatchId } = await world.create('openai');
    world.emulator.injectHttpFault({ method: 'GET', path: batchPath(providerBatchId), status: 400 });
    expect(await world.check(batchLogId)).toEqual({ outcome: 'rescheduled', errorKind: 'bad_request' });
    expect((await world.row(batchLogId)).last_poll_error).toMatch(/400/);
    expect(
      (await world.opsEvents()).some((e) => e.kind === 'provider_error' && e.batchLogId === batchLogId),
    ).toBe(true);
    expect((await world.check(batchLogId)).outcome).toBe('transition');
  });

  it('cancels a batch past BATCH_MAX_AGE, waits for it to end, and lands its partial output (max_age)', async () => {
    const { batchLogId, providerBatchId } = await world.create('openai', 10);
    world.advance(CLOCK.validatingMs + CLOCK.inProgressMs / 2);
    expect(await world.check(batchLogId, { maxAgeMs: 0 })).toEqual({ outcome: 'transition' });
    expect(world.emulator.batch(providerBatchId)?.cancelRequestedAtMs).toBe(world.now());
    expect((await world.row(batchLogId)).cancel_requested_at).toBeInstanceOf(Date);
    expect((await world.row(batchLogId)).provider_status).toBe('cancelling');

    world.advance(CLOCK.finalizingMs);
    expect(await world.check(batchLogId, { maxAgeMs: 0 })).toEqual({ outcome: 'terminal', completed: false });
    const events = await world.statusEvents(batchLogId);
    expect(events.at(-1)).toMatchObject({ providerStatus: 'cancelled', terminal: true, reason: 'max_age' });
    expect(events.at(-1)!.outputFileId).toMatch(/^file-/);
    expect((await world.row(batchLogId)).log_details).toMatchObject({
      reason: 'max_age',
      maxAge: { maxAgeMs: 0 },
    });
  });

  it('ends an over-age batch the provider does not end within the grace period', async () => {
    const { batchLogId } = await world.create('openai');
    world.emulator.injectHttpFault({ method: 'POST', path: /\/cancel$/, status: 500 });
    expect(await world.check(batchLogId, { maxAgeMs: 0 })).toEqual({
      outcome: 'rescheduled',
      errorKind: 'unavailable',
    });
    expect((await world.row(batchLogId)).cancel_requested_at).toBeInstanceOf(Date);
    expect(await world.check(batchLogId, { maxAgeMs: 0, cancelGraceMs: 0 })).toEqual({
      outcome: 'terminal',
      completed: false,
    });
    expect((await world.statusEvents(batchLogId)).at(-1)).toMatchObject({
      reason: 'max_age',
      terminal: true,
    });
  });

  it('decides age, schedule and pauses by the database clock, whatever the poller’s clock says', async () => {
    const { batchLogId } = await world.create('openai');
    const skewed = await world.create('openai');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 25 * 3_600_000);
      // 25 h ahead, with BATCH_MAX_AGE 1 h: the batch is seconds old by the database, so it is not expired.
      expect(await world.check(batchLogId, { maxAgeMs: 3_600_000 })).toEqual({ outcome: 'transition' });
      const { next_poll_in_s } = await world.row(batchLogId);
      expect(next_poll_in_s).toBeGreaterThan(50);
      expect(next_poll_in_s).toBeLessThanOrEqual(60);
      vi.setSystemTime(Date.now() - 50 * 3_600_000);
      world.emulator.injectHttpFault({
        method: 'GET',
        path: /^\/v1\/batches\//,
        status: 429,
        headers: { 'retry-after': '30' },
      });
      expect(await world.check(skewed.batchLogId)).toEqual({ outcome: 'paused', errorKind: 'rate_limited' });
      const waiting = await world.row(skewed.batchLogId);
      expect(waiting.next_poll_in_s).toBeGreaterThan(25);
      expect(waiting.next_poll_in_s).toBeLessThanOrEqual(30);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not record a check whose lease was taken over', async () => {
    const { batchLogId } = await world.create('openai');
    const stale = await leaseBatch(world.pool, batchLogId, { owner: 'a', leaseMs: 30_000 });
    await world.pool.query(
      `UPDATE batch_jobs_vp_logs SET lease_until = now() - interval '1 second' WHERE id = $1`,
      [batchLogId],
    );
    await leaseBatch(world.pool, batchLogId, { owner: 'b', leaseMs: 30_000 });
    expect(await checkBatch(world.deps, stale!)).toEqual({ outcome: 'lease_lost' });
    expect(await world.statusEvents(batchLogId)).toEqual([]);
  });
});
