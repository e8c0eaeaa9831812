import { silentLogger } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutageEpisodes } from '../src/outage-episodes.ts';
import { type PollerWorld, pollerWorld } from './support.ts';

const OUTAGE_AFTER_MS = 300;
const RUNBOOK = 'https://runbook.example/docs/runbook.md';

describe('provider outages: one message when an episode begins, one when it is over', () => {
  let world: PollerWorld;
  /** A replica's view of the episodes: it keeps nothing in memory, so a new one is also a restarted poller. */
  const replica = (): OutageEpisodes => ({
    pool: world.pool,
    log: silentLogger,
    outageAfterMs: OUTAGE_AFTER_MS,
    runbookUrl: RUNBOOK,
  });

  beforeAll(async () => {
    world = await pollerWorld('poller_outages');
  });
  afterAll(async () => world?.close());

  const outageEvents = async () =>
    (await world.opsEvents()).filter((event) => event.kind === 'provider_unavailable');
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const failEveryStatusCall = () =>
    world.emulator.injectHttpFault({ method: 'GET', path: /^\/v1\/batches\//, status: 503, times: Infinity });

  it('says nothing of 5xx errors that stop before the threshold', async () => {
    const { batchLogId } = await world.create('openai');
    const fault = failEveryStatusCall();
    expect((await world.check(batchLogId, { outages: replica() })).errorKind).toBe('unavailable');
    fault.remove();
    await sleep(OUTAGE_AFTER_MS + 50);
    expect((await world.check(batchLogId, { outages: replica() })).outcome).toBe('transition');
    expect(await outageEvents()).toEqual([]);
  });

  it('raises once while replicas race through the outage, clears once when the provider answers', async () => {
    const batches = await Promise.all([1, 2, 3, 4].map(() => world.create('openai')));
    const fault = failEveryStatusCall();
    await world.check(batches[0]!.batchLogId, { outages: replica() });
    expect(await outageEvents()).toEqual([]);
    await sleep(OUTAGE_AFTER_MS + 50);
    // Four replicas check at once, then a restarted one checks again: one announcement.
    const results = await Promise.all(
      batches.map(({ batchLogId }) => world.check(batchLogId, { outages: replica() })),
    );
    expect(results.map((result) => result.errorKind)).toEqual(Array(4).fill('unavailable'));
    await world.check(batches[0]!.batchLogId, { outages: replica() });
    const raised = await outageEvents();
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({
      kind: 'provider_unavailable',
      provider: 'openai',
      severity: 'high',
      episode: { key: 'provider_unavailable:openai', number: 1, phase: 'began' },
      runbookUrl: `${RUNBOOK}#provider-unavailable`,
    });
    expect(raised[0]!.detail).toMatch(/503/);
    expect(Date.parse(raised[0]!.occurredAt) - Date.parse(raised[0]!.since!)).toBeGreaterThanOrEqual(
      OUTAGE_AFTER_MS,
    );

    fault.remove();
    await Promise.all(batches.map(({ batchLogId }) => world.check(batchLogId, { outages: replica() })));
    await world.check(batches[1]!.batchLogId, { outages: replica() });
    const after = await outageEvents();
    expect(after.map((event) => event.episode)).toEqual([
      { key: 'provider_unavailable:openai', number: 1, phase: 'began' },
      { key: 'provider_unavailable:openai', number: 1, phase: 'over' },
    ]);
    expect(after[1]).toMatchObject({
      since: raised[0]!.since,
      runbookUrl: `${RUNBOOK}#provider-unavailable`,
    });

    // The next outage is a new episode, announced again.
    const again = failEveryStatusCall();
    await world.check(batches[2]!.batchLogId, { outages: replica() });
    await sleep(OUTAGE_AFTER_MS + 50);
    await world.check(batches[3]!.batchLogId, { outages: replica() });
    again.remove();
    await world.check(batches[3]!.batchLogId, { outages: replica() });
    expect((await outageEvents()).map((event) => event.occurrenceId)).toEqual([
      'provider_unavailable:openai:1:began',
      'provider_unavailable:openai:1:over',
      'provider_unavailable:openai:2:began',
      'provider_unavailable:openai:2:over',
    ]);
  });

  it('counts a refusal (429) as an answer, and keeps providers apart', async () => {
    const failing = async () =>
      (await world.pool.query(`SELECT key FROM ops_episodes WHERE failing_since IS NOT NULL ORDER BY key`))
        .rows;
    const openai = await world.create('openai');
    const anthropic = await world.create('anthropic');
    world.emulator.injectHttpFault({ path: /^\/v1\/messages\/batches\//, status: 503 });
    world.emulator.injectHttpFault({ method: 'GET', path: /^\/v1\/batches\//, status: 502 });
    await world.check(anthropic.batchLogId, { outages: replica() });
    await world.check(openai.batchLogId, { outages: replica() });
    expect(await failing()).toEqual([
      { key: 'provider_unavailable:anthropic' },
      { key: 'provider_unavailable:openai' },
    ]);
    world.emulator.injectHttpFault({
      path: /^\/v1\/messages\/batches\//,
      status: 429,
      headers: { 'retry-after': '1' },
    });
    expect((await world.check(anthropic.batchLogId, { outages: replica() })).errorKind).toBe('rate_limited');
    expect(await failing()).toEqual([{ key: 'provider_unavailable:openai' }]);
  });
});
