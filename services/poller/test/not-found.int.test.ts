import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDueProbes } from '../src/provider-health.ts';
import { type PollerWorld, pollerWorld } from './support.ts';

/**
 * The systemic-404 guard: batches the provider has really forgotten end as `not_found`, however many there are,
 * while a key that reaches another project (every batch 404s, the list answers without ours) pauses the provider
 * and ends none. Each test has its own database: the guard measures every batch of the provider.
 */
describe('404s: gone batches end, a wrong project pauses', () => {
  let world: PollerWorld;
  let label = 0;

  beforeEach(async () => {
    world = await pollerWorld(`poller_not_found_${++label}`);
  });
  afterEach(async () => world?.close());

  const confirmAll = async (ids: number[]) => {
    const outcomes = [];
    for (const id of ids) outcomes.push(await world.check(id));
    return outcomes;
  };

  it('ends three vanished batches out of four as not_found while the provider lists the live one', async () => {
    const live = await world.create('openai');
    const gone = await Promise.all(
      ['batch_gone_1', 'batch_gone_2', 'batch_gone_3'].map((id) => world.adopt('openai', id)),
    );
    expect(await confirmAll(gone)).toEqual(
      gone.map(() => ({ outcome: 'rescheduled', errorKind: 'not_found' })),
    );
    // 3 of the 4 batches checked lately 404: without the list showing `live`, this was taken for a systemic 404.
    expect((await world.check(live.batchLogId)).outcome).toBe('transition');
    expect(await confirmAll(gone)).toEqual(gone.map(() => ({ outcome: 'terminal', completed: false })));
    for (const id of gone) {
      expect((await world.row(id)).log_details).toMatchObject({ reason: 'not_found' });
    }
    expect((await world.pool.query('SELECT * FROM provider_pauses')).rowCount).toBe(0);
    expect((await world.opsEvents()).filter((e) => e.kind === 'provider_not_found')).toEqual([]);
  });

  it('ends them too when the list shows none of ours but the provider answered another batch since the 404s', async () => {
    const live = await world.create('openai');
    const gone = await Promise.all(['batch_a', 'batch_b', 'batch_c'].map((id) => world.adopt('openai', id)));
    world.emulator.injectHttpFault({
      method: 'GET',
      path: /^\/v1\/batches$/,
      status: 200,
      body: { object: 'list', data: [], first_id: null, last_id: null, has_more: false },
      times: Number.POSITIVE_INFINITY,
    });
    await confirmAll(gone);
    expect((await world.check(live.batchLogId)).outcome).toBe('transition');
    expect(await confirmAll(gone)).toEqual(gone.map(() => ({ outcome: 'terminal', completed: false })));
  });

  it('pauses, ending none, when a key of another project gets 404 for every batch, and resumes once ours show', async () => {
    const batches = await Promise.all([1, 2, 3].map(() => world.create('openai')));
    const ids = batches.map((b) => b.batchLogId);
    // The other project's list answers, without our batches; every one of ours 404s.
    const otherProject = world.emulator.injectHttpFault({
      method: 'GET',
      path: /^\/v1\/batches$/,
      status: 200,
      body: {
        object: 'list',
        data: [],
        first_id: null,
        last_id: null,
        has_more: false,
      },
      times: Number.POSITIVE_INFINITY,
    });
    const everyBatch = world.emulator.injectHttpFault({
      method: 'GET',
      path: /^\/v1\/batches\/[^/]+$/,
      status: 404,
      times: Number.POSITIVE_INFINITY,
    });
    await confirmAll(ids);
    expect(await confirmAll(ids)).toEqual(ids.map(() => ({ outcome: 'paused', errorKind: 'not_found' })));
    for (const id of ids) expect((await world.row(id)).status).toBe(1);
    expect((await world.opsEvents()).filter((e) => e.kind === 'provider_not_found')).toHaveLength(1);

    const probe = {
      ...world.deps,
      probeIntervalMs: 1,
      oldestNotFoundBatch: async () => batches[0]!.providerBatchId,
    };
    const probeDueNow = async () => {
      await world.pool.query('UPDATE provider_pauses SET paused_until = now()');
      await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await probeDueNow();
    expect(await runDueProbes(probe)).toEqual([]);
    // The key is fixed: the list shows our batches again, and they answer.
    otherProject.remove();
    everyBatch.remove();
    await probeDueNow();
    expect(await runDueProbes(probe)).toEqual(['openai']);
    for (const id of ids) expect((await world.check(id)).outcome).toBe('transition');
  });

  it('resumes a 404 pause by the list alone, so that batches really gone then end', async () => {
    const live = await world.create('openai');
    const gone = await Promise.all(['batch_x', 'batch_y', 'batch_z'].map((id) => world.adopt('openai', id)));
    // While the list is down (a wrong base URL for a moment), the 404s look systemic and pause the provider.
    const listDown = world.emulator.injectHttpFault({
      method: 'GET',
      path: /^\/v1\/batches$/,
      status: 404,
      times: Number.POSITIVE_INFINITY,
    });
    await confirmAll(gone);
    expect((await world.check(gone[0]!)).outcome).toBe('paused');
    listDown.remove();
    await world.pool.query('UPDATE provider_pauses SET paused_until = now()');
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The oldest 404ing batch never comes back; the list showing `live` is what ends the pause.
    expect(
      await runDueProbes({ ...world.deps, probeIntervalMs: 1, oldestNotFoundBatch: async () => 'batch_x' }),
    ).toEqual(['openai']);
    expect(await confirmAll(gone)).toEqual(gone.map(() => ({ outcome: 'terminal', completed: false })));
    expect((await world.check(live.batchLogId)).outcome).toBe('transition');
  });
});
