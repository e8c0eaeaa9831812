import { createHmac } from 'node:crypto';
import { openAIWebhookVerifier } from '@batchline/providers';
import { silentLogger, waitFor } from '@batchline/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPollLoop } from '../src/poll-loop.ts';
import { sweepOnce } from '../src/sweeps.ts';
import { startWebhookServer, WEBHOOK_PATH } from '../src/webhook-server.ts';
import { type PollerWorld, pollerWorld } from './support.ts';

const CLOCK = { validatingMs: 1000, inProgressMs: 5000, finalizingMs: 1000 };
const WHOLE_RUN = CLOCK.validatingMs + CLOCK.inProgressMs + CLOCK.finalizingMs;

describe('the poll loop, the sweeps and the webhook endpoint', () => {
  let world: PollerWorld;

  beforeAll(async () => {
    world = await pollerWorld('poller_loop', { clock: CLOCK });
  });
  afterEach(async () => {
    // Each test sees only its own batches.
    await world.pool.query('TRUNCATE batch_jobs_vp_logs, outbox, poller_cycles, provider_pauses');
  });
  afterAll(async () => world?.close());

  const sweep = (overrides: Partial<Parameters<typeof sweepOnce>[0]> = {}) =>
    sweepOnce({
      pool: world.pool,
      providers: world.deps.providers,
      log: silentLogger,
      redriveAfterMs: 60_000,
      stuckAfterMs: 7_200_000,
      deleteProviderFiles: false,
      ...overrides,
    });

  it('checks due batches POLL_CHUNK at a time, records its figures, and checks a woken batch at once', async () => {
    const batches = await Promise.all([1, 2, 3, 4, 5].map(() => world.create('openai', 1)));
    let changes = 0;
    const loop = startPollLoop({
      ...world.deps,
      owner: 'loop-test',
      chunk: 2,
      tickMs: 50,
      leaseMs: 10_000,
      onChanges: () => {
        changes += 1;
      },
    });
    try {
      await waitFor('every batch checked', async () => {
        const { rows } = await world.pool.query(
          'SELECT count(*)::int AS n FROM batch_jobs_vp_logs WHERE poll_attempt = 1',
        );
        return rows[0].n === 5;
      });
      const cycles = await world.pool.query('SELECT * FROM poller_cycles ORDER BY id');
      expect(cycles.rows.every((cycle) => cycle.leased <= 2 && cycle.owner === 'loop-test')).toBe(true);
      expect(cycles.rows.reduce((sum, cycle) => sum + cycle.checked, 0)).toBe(5);
      expect(cycles.rows.reduce((sum, cycle) => sum + cycle.transitions, 0)).toBe(5);
      expect(cycles.rows[0].lease_ms).toBeGreaterThan(0);
      expect(changes).toBeGreaterThan(0);

      // The next check is a minute away; a webhook (or an operator) makes one due now.
      const target = batches[0]!;
      world.advance(CLOCK.validatingMs);
      await world.pool.query('UPDATE batch_jobs_vp_logs SET next_poll_at = now() WHERE id = $1', [
        target.batchLogId,
      ]);
      loop.wake();
      await waitFor(
        'the woken batch checked',
        async () => (await world.row(target.batchLogId)).poll_attempt === 2,
      );
      expect((await world.row(target.batchLogId)).provider_status).toBe('in_progress');
    } finally {
      await loop.stop();
    }
  });

  it('drives again a batch final at the provider whose results did not land, with a new msg id, then waits', async () => {
    const { batchLogId } = await world.create('openai');
    world.advance(WHOLE_RUN);
    expect((await world.check(batchLogId)).outcome).toBe('terminal');
    expect((await sweep()).redriven).toBe(0);
    // The stamp is set once: nobody can move it (not even this test).
    await expect(
      world.pool.query(
        `UPDATE batch_jobs_vp_logs SET provider_terminal_at = provider_terminal_at - interval '1 hour' WHERE id = $1`,
        [batchLogId],
      ),
    ).rejects.toThrow(/set once/);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect((await sweep({ redriveAfterMs: 10 })).redriven).toBe(1);
    const { rows } = await world.pool.query(
      `SELECT msg_id, payload FROM outbox WHERE subject = 'batch.status.changed' ORDER BY id`,
    );
    expect(rows.map((row) => row.msg_id)).toEqual(
      [
        `status:${batchLogId}:validating`,
        `status:${batchLogId}:completed`,
        `status:${batchLogId}:completed:redrive:1`,
      ].slice(rows.length === 3 ? 0 : 1),
    );
    expect(rows.at(-1).payload).toEqual(rows.at(-2).payload);
    expect((await world.opsEvents()).map((e) => e.kind)).toContain('results_not_landed');
    // Not again before the interval has passed (doubling with each re-drive).
    expect((await sweep()).redriven).toBe(0);
    // A landed batch is never driven again.
    await world.pool.query(
      `UPDATE batch_jobs_vp_logs SET redriven_at = now() - interval '1 day', status = 2 WHERE id = $1`,
      [batchLogId],
    );
    expect((await sweep()).redriven).toBe(0);
  });

  it('raises one "stuck" alert per stall and clears expired leases', async () => {
    const stuck = await world.create('openai');
    const fresh = await world.create('openai');
    await world.pool.query(
      `UPDATE batch_jobs_vp_logs SET created_at = now() - interval '3 hours' WHERE id = $1`,
      [stuck.batchLogId],
    );
    await world.pool.query(
      `UPDATE batch_jobs_vp_logs SET lease_owner = 'dead-poller', lease_until = now() - interval '1 minute' WHERE id = $1`,
      [fresh.batchLogId],
    );
    const report = await sweep();
    expect(report).toMatchObject({ stuck: 1, leasesReleased: 1 });
    const alerts = (await world.opsEvents()).filter((e) => e.kind === 'batch_stuck');
    expect(alerts).toEqual([expect.objectContaining({ batchLogId: stuck.batchLogId, provider: 'openai' })]);
    expect((await world.row(fresh.batchLogId)).lease_owner).toBeNull();
    expect((await sweep()).stuck).toBe(0);
  });

  it('deletes the provider copies of landed batches when configured to', async () => {
    const { batchLogId, providerBatchId } = await world.create('openai');
    const anthropic = await world.create('anthropic');
    world.advance(WHOLE_RUN);
    await world.check(batchLogId);
    await world.check(anthropic.batchLogId);
    const outputFileId = (await world.row(batchLogId)).output_file_id as string;
    expect((await sweep({ deleteProviderFiles: true })).copiesDeleted).toBe(0);
    await world.pool.query('UPDATE batch_jobs_vp_logs SET status = 2, results_landed_at = now()');
    expect((await sweep({ deleteProviderFiles: true })).copiesDeleted).toBe(2);
    await expect(world.openai.openFile(outputFileId)).rejects.toMatchObject({ kind: 'not_found' });
    await expect(world.anthropic.getBatch(anthropic.providerBatchId)).rejects.toMatchObject({
      kind: 'not_found',
    });
    expect(world.emulator.batch(providerBatchId)).toBeDefined();
    expect((await sweep({ deleteProviderFiles: true })).copiesDeleted).toBe(0);
  });

  it('makes a batch due at once on a verified OpenAI webhook, and refuses a forged one', async () => {
    const { batchLogId, providerBatchId } = await world.create('openai');
    await world.check(batchLogId);
    expect((await world.row(batchLogId)).next_poll_in_s).toBeGreaterThan(30);
    const secret = `whsec_${Buffer.from('batchline-webhook-test-secret').toString('base64')}`;
    const due: number[] = [];
    const server = await startWebhookServer({
      port: 0,
      host: '127.0.0.1',
      pool: world.pool,
      log: silentLogger,
      verify: openAIWebhookVerifier(secret),
      onBatchDue: (id) => due.push(id),
    });
    const send = (body: string, key: string) => {
      const id = `evt_${Math.random().toString(36).slice(2)}`;
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = createHmac('sha256', Buffer.from(key.replace('whsec_', ''), 'base64'))
        .update(`${id}.${timestamp}.${body}`)
        .digest('base64');
      return fetch(`http://127.0.0.1:${server.port}${WEBHOOK_PATH}`, {
        method: 'POST',
        headers: { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` },
        body,
      });
    };
    try {
      const body = JSON.stringify({
        id: 'evt_1',
        object: 'event',
        type: 'batch.completed',
        created_at: Math.floor(Date.now() / 1000),
        data: { id: providerBatchId },
      });
      const forged = await send(body, `whsec_${Buffer.from('not-the-secret').toString('base64')}`);
      expect(forged.status).toBe(400);
      expect((await world.row(batchLogId)).next_poll_in_s).toBeGreaterThan(30);
      expect(due).toEqual([]);

      const genuine = await send(body, secret);
      expect(genuine.status).toBe(200);
      expect(due).toEqual([batchLogId]);
      expect((await world.row(batchLogId)).next_poll_in_s).toBeLessThanOrEqual(0);
      // An event about another kind of object, or an unknown batch, is acknowledged and changes nothing.
      const other = await send(
        JSON.stringify({ id: 'evt_2', type: 'response.completed', data: { id: 'resp_1' } }),
        secret,
      );
      expect(other.status).toBe(200);
      expect(due).toEqual([batchLogId]);
    } finally {
      await server.close();
    }
  });
});
