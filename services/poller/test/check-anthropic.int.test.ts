import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { leaseDueBatches } from '../src/store/leases.ts';
import { type PollerWorld, pollerWorld } from './support.ts';

const CLOCK = { validatingMs: 1000, inProgressMs: 5000, finalizingMs: 1000 };
const WHOLE_RUN = CLOCK.validatingMs + CLOCK.inProgressMs + CLOCK.finalizingMs;

describe('checkBatch against the Anthropic emulator', () => {
  let world: PollerWorld;

  beforeAll(async () => {
    world = await pollerWorld('poller_anthropic', { clock: CLOCK });
  });
  afterEach(async () => {
    world.scriptNext(undefined);
    world.emulator.clearHttpFaults();
    await world.pool.query('DELETE FROM provider_pauses');
  });
  afterAll(async () => world?.close());

  it('follows in_progress to ended (completed), with request counts and the results as output', async () => {
    const { batchLogId, providerBatchId } = await world.create('anthropic', 3);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'transition' });
    world.advance(CLOCK.validatingMs + CLOCK.inProgressMs);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'unchanged' });
    world.advance(CLOCK.finalizingMs);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'terminal', completed: true });
    const events = await world.statusEvents(batchLogId);
    expect(events.map((e) => [e.previousProviderStatus, e.providerStatus, e.reason])).toEqual([
      [null, 'in_progress', null],
      ['in_progress', 'ended', 'completed'],
    ]);
    expect(events[1]).toMatchObject({
      provider: 'anthropic',
      inputFileId: null,
      outputFileId: providerBatchId,
      errorFileId: null,
      requestCounts: { total: 3, completed: 3, failed: 0 },
    });
  });

  it('follows canceling to ended as a cancelled batch (status 9 with what ran)', async () => {
    const { batchLogId, providerBatchId } = await world.create('anthropic', 10);
    world.advance(CLOCK.validatingMs + CLOCK.inProgressMs / 2);
    await world.anthropic.cancelBatch(providerBatchId);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'transition' });
    expect((await world.row(batchLogId)).provider_status).toBe('canceling');
    world.advance(CLOCK.finalizingMs);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'terminal', completed: false });
    expect((await world.statusEvents(batchLogId)).at(-1)).toMatchObject({
      providerStatus: 'ended',
      reason: 'cancelled',
      outputFileId: providerBatchId,
      requestCounts: { total: 10, completed: 5, failed: 5 },
    });
  });

  it('ends an expired batch with reason expired', async () => {
    world.scriptNext({ status: 'expired', completedFraction: 0.25 });
    const { batchLogId } = await world.create('anthropic', 4);
    world.advance(CLOCK.validatingMs + CLOCK.inProgressMs);
    expect(await world.check(batchLogId)).toEqual({ outcome: 'terminal', completed: false });
    expect((await world.statusEvents(batchLogId)).at(-1)).toMatchObject({ reason: 'expired' });
  });

  it('confirms a 404 before ending the batch as not_found', async () => {
    await world.create('anthropic');
    const batchLogId = await world.adopt('anthropic', 'msgbatch_forgotten');
    expect(await world.check(batchLogId)).toEqual({ outcome: 'rescheduled', errorKind: 'not_found' });
    expect(await world.check(batchLogId)).toEqual({ outcome: 'terminal', completed: false });
    expect((await world.statusEvents(batchLogId)).at(-1)).toMatchObject({ reason: 'not_found' });
  });

  it('pauses only Anthropic on its 429 and reschedules its 529 (overloaded) with backoff', async () => {
    const limited = await world.create('anthropic');
    const openai = await world.create('openai');
    world.emulator.injectHttpFault({
      method: 'GET',
      path: /^\/v1\/messages\/batches\//,
      status: 429,
      headers: { 'retry-after': '60' },
    });
    expect(await world.check(limited.batchLogId)).toEqual({ outcome: 'paused', errorKind: 'rate_limited' });
    await world.pool.query('UPDATE batch_jobs_vp_logs SET next_poll_at = now() WHERE status = 1');
    const due = await leaseDueBatches(world.pool, { owner: 'x', limit: 1000, leaseMs: 1000 });
    expect(due.map((b) => b.provider)).not.toContain('anthropic');
    expect(due.map((b) => b.id)).toContain(openai.batchLogId);
    await world.pool.query('UPDATE batch_jobs_vp_logs SET lease_until = NULL');
    await world.pool.query('DELETE FROM provider_pauses');

    world.emulator.injectHttpFault({ method: 'GET', path: /^\/v1\/messages\/batches\//, status: 529 });
    expect(await world.check(limited.batchLogId)).toEqual({
      outcome: 'rescheduled',
      errorKind: 'unavailable',
    });
    expect((await world.row(limited.batchLogId)).poll_errors).toBe(1);
  });

  it('cancels an over-age batch and ends it with max_age once Anthropic ended it', async () => {
    const { batchLogId, providerBatchId } = await world.create('anthropic', 4);
    world.advance(CLOCK.validatingMs + CLOCK.inProgressMs / 2);
    expect(await world.check(batchLogId, { maxAgeMs: 0 })).toEqual({ outcome: 'transition' });
    expect(world.emulator.messageBatch(providerBatchId)?.cancelRequestedAtMs).toBe(world.now());
    world.advance(WHOLE_RUN);
    expect(await world.check(batchLogId, { maxAgeMs: 0 })).toEqual({ outcome: 'terminal', completed: false });
    expect((await world.statusEvents(batchLogId)).at(-1)).toMatchObject({
      providerStatus: 'ended',
      reason: 'max_age',
      outputFileId: providerBatchId,
    });
  });
});
