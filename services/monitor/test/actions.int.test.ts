import type { Pool } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import type { BatchProvider } from '@batchline/providers';
import { describe, expect, it } from 'vitest';
import { requestLine, useActionBed } from './action-bed.ts';
import { asOperator, auditRecords, failed, ok, seedBatch } from './support.ts';

const MONITORING = '/api/admin/batch-monitoring';

/**
 * Leases what a poller would lease now, in its order (the poller's lease query, which this test cannot import):
 * due pending batches not held back by their own pause, a pause of all polling or of their provider, the
 * highest poll priority first, then the oldest due.
 */
async function leaseDueBatches(
  pool: Pool,
  { owner, limit, leaseMs }: { owner: string; limit: number; leaseMs: number },
): Promise<{ id: number; leaseVersion: number }[]> {
  const { rows } = await pool.query<{ id: string; lease_version: string }>(
    `WITH due AS (
       SELECT id FROM batch_jobs_vp_logs
       WHERE status = ${BatchStatus.pending} AND provider_terminal_at IS NULL AND next_poll_at <= now()
         AND (lease_until IS NULL OR lease_until <= now())
         AND NOT polling_paused
         AND NOT EXISTS (SELECT 1 FROM polling_control WHERE paused)
         AND NOT EXISTS (SELECT 1 FROM provider_pauses p
                         WHERE p.provider = batch_jobs_vp_logs.provider AND (p.needs_probe OR p.paused_until > now()))
       ORDER BY poll_priority DESC, next_poll_at
       LIMIT $2
       FOR UPDATE SKIP LOCKED
     ), leased AS (
       UPDATE batch_jobs_vp_logs b
       SET lease_owner = $1, lease_until = now() + $3::float8 * interval '1 millisecond', lease_version = lease_version + 1
       FROM due WHERE b.id = due.id
       RETURNING b.id, b.lease_version, b.poll_priority, b.next_poll_at
     )
     SELECT id, lease_version FROM leased ORDER BY poll_priority DESC, next_poll_at, id`,
    [owner, limit, leaseMs],
  );
  return rows.map((row) => ({ id: Number(row.id), leaseVersion: Number(row.lease_version) }));
}

async function readLines(provider: BatchProvider, fileId: string): Promise<string[]> {
  let text = '';
  for await (const chunk of await provider.openFile(fileId)) text += (chunk as Buffer).toString('utf8');
  return text.split('\n').filter((line) => line.length > 0);
}

describe('admin actions against the emulated provider', () => {
  const bed = useActionBed('monitor_actions');
  const { submittedBatch, post } = bed;

  const batchUploads = () =>
    bed.emulator.requests.filter((r) => r.method === 'POST' && r.path === '/v1/batches').length;

  describe('retry', () => {
    it('resubmits exactly the failed requests, from the provider input file, as a linked batch', async () => {
      // Sentences 1..10 were submitted; 8, 9 and 10 failed, and a result arrived for an 11th the input never had.
      const original = await submittedBatch([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], {
        name: 'partly failed',
        ageMinutes: 90,
        model: 'gpt-4o-mini',
        state: 'completed',
        totalRequests: 10,
        results: [
          ...Array.from({ length: 7 }, () => ok(100, 10)),
          failed('invalid_content', 100, 30),
          failed('server_error'),
          failed('missing_result'),
          failed('invalid_custom_id'),
        ],
      });

      const response = await post(`/${original.id}/retry`);
      expect(response.statusCode, response.body).toBe(201);
      const retry = response.json().data;
      expect(retry).toEqual({
        id: expect.any(Number),
        batchId: expect.stringMatching(/^batch_/),
        retryOf: original.id,
        requests: 3,
        // invalid_custom_id is never resubmitted: its request cannot be known.
        notResubmitted: 0,
      });

      const { rows } = await bed.db.pool.query('SELECT * FROM batch_jobs_vp_logs WHERE id = $1', [retry.id]);
      expect(rows[0]).toMatchObject({
        batch_id: retry.batchId,
        provider: 'openai',
        status: 1,
        total_sentences: 3,
        model: 'gpt-4o-mini',
        job_type: 'specific_viewpoint',
      });
      const resubmitted = await readLines(bed.provider, rows[0].input_file_id);
      expect(resubmitted.sort()).toEqual([8, 9, 10].map(requestLine).sort());
      expect(bed.emulator.batch(retry.batchId)).toBeDefined();

      const listed = (
        await bed.app.inject({ url: `${MONITORING}?timeRange=24h`, headers: asOperator })
      ).json().data.jobs;
      expect(listed.find((job: { id: number }) => job.id === retry.id)).toMatchObject({
        retryOf: original.id,
        status: 'pending',
      });
      expect(listed.find((job: { id: number }) => job.id === original.id)).toMatchObject({
        retriedAs: retry.id,
      });

      const records = await auditRecords(bed.db.pool, `action = 'batch.retry' AND target = $1`, [
        String(original.id),
      ]);
      expect(records.map((r) => r.outcome)).toEqual(['started', 'success']);
      expect(records[1]!.details).toEqual({
        retryBatchLogId: retry.id,
        providerBatchId: retry.batchId,
        requests: 3,
        codes: null,
      });

      const again = await post(`/${original.id}/retry`);
      expect(again.statusCode).toBe(409);
      expect(again.json().error).toMatchObject({ code: 'already_retried', retryBatchLogId: retry.id });
    });

    it('submits once however many retries of one batch arrive at the same time', async () => {
      const original = await submittedBatch([101, 102, 103], {
        name: 'raced',
        ageMinutes: 60,
        model: 'gpt-4o-mini',
        state: 'failed',
        results: [ok(10, 1), failed('batch_expired'), failed('batch_expired')],
      });
      const before = batchUploads();
      const responses = await Promise.all(Array.from({ length: 10 }, () => post(`/${original.id}/retry`)));
      const statuses = responses.map((r) => r.statusCode).sort();
      expect(statuses).toEqual([201, ...Array.from({ length: 9 }, () => 409)]);
      expect(batchUploads()).toBe(before + 1);
      const { rows } = await bed.db.pool.query(
        'SELECT count(*)::int AS n FROM batch_retries WHERE original_batch_log_id = $1',
        [original.id],
      );
      expect(rows[0].n).toBe(1);
    });

    it('refuses what cannot be retried', async () => {
      const landing = await seedBatch(bed.db.pool, {
        name: 'landing',
        ageMinutes: 5,
        model: 'gpt-4o-mini',
        state: 'processing',
        results: [failed('server_error')],
        totalRequests: 3,
      });
      const clean = await seedBatch(bed.db.pool, {
        name: 'clean',
        ageMinutes: 5,
        model: 'gpt-4o-mini',
        state: 'completed',
        results: [ok(1, 1)],
      });
      const retried = await post(`/${landing}/retry`);
      expect(retried.statusCode).toBe(409);
      expect(retried.json().error.code).toBe('batch_not_final');
      expect((await post(`/${clean}/retry`)).json().error.code).toBe('nothing_to_retry');
      const unknown = await post('/987654/retry');
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error).toMatchObject({ code: 'batch_not_found', field: 'id' });
    });

    it('answers 502 when the provider fails, releases the claim, and lets the retry be asked again', async () => {
      const original = await submittedBatch([201, 202], {
        name: 'provider down',
        ageMinutes: 30,
        model: 'gpt-4o-mini',
        state: 'completed',
        results: [ok(5, 1), failed('server_error')],
      });
      bed.emulator.injectHttpFault({ method: 'POST', path: /^\/v1\/files$/, status: 503, times: 1 });
      const refused = await post(`/${original.id}/retry`);
      expect(refused.statusCode, refused.body).toBe(502);
      expect(refused.json().error.code).toBe('provider_unavailable');
      expect(refused.body).not.toContain('sk-emulated-test-key');
      const records = await auditRecords(bed.db.pool, `action = 'batch.retry' AND target = $1`, [
        String(original.id),
      ]);
      expect(records.map((r) => [r.outcome, r.status_code])).toEqual([
        ['started', null],
        ['failed', 502],
      ]);
      const retried = await post(`/${original.id}/retry`);
      expect(retried.statusCode, retried.body).toBe(201);
    });

    it('does not call the provider when the audit record cannot be written', async () => {
      const original = await submittedBatch([301, 302], {
        name: 'unaudited',
        ageMinutes: 30,
        model: 'gpt-4o-mini',
        state: 'completed',
        results: [ok(5, 1), failed('server_error')],
      });
      const requestsBefore = bed.emulator.requests.length;
      await bed.db.pool.query(`CREATE FUNCTION refuse_audit() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION 'audit storage unavailable'; END $$ LANGUAGE plpgsql`);
      await bed.db.pool.query(
        'CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()',
      );
      try {
        const response = await post(`/${original.id}/retry`);
        expect(response.statusCode).toBe(503);
        expect(response.json().error.code).toBe('audit_unavailable');
      } finally {
        await bed.db.pool.query('DROP TRIGGER refuse_audit ON audit_log; DROP FUNCTION refuse_audit()');
      }
      expect(bed.emulator.requests.length).toBe(requestsBefore);
      const { rows } = await bed.db.pool.query(
        'SELECT 1 FROM batch_retries WHERE original_batch_log_id = $1',
        [original.id],
      );
      expect(rows).toEqual([]);
    });
  });

  describe('cancel', () => {
    it('cancels a pending batch at the provider and has it checked soon', async () => {
      const pending = await submittedBatch([401, 402], {
        name: 'to cancel',
        ageMinutes: 10,
        model: 'gpt-4o-mini',
        state: 'processing',
        results: [],
      });
      await bed.db.pool.query(
        `UPDATE batch_jobs_vp_logs SET next_poll_at = now() + interval '1 hour' WHERE id = $1`,
        [pending.id],
      );
      const response = await post(`/${pending.id}/cancel`);
      expect(response.statusCode, response.body).toBe(202);
      expect(response.json().data).toEqual({
        id: pending.id,
        batchId: pending.providerBatchId,
        providerStatus: 'cancelling',
      });
      expect((await bed.provider.getBatch(pending.providerBatchId)).status).toMatch(/^cancel/);
      const { rows } = await bed.db.pool.query(
        'SELECT next_poll_at <= now() AS due, status FROM batch_jobs_vp_logs WHERE id = $1',
        [pending.id],
      );
      expect(rows[0]).toEqual({ due: true, status: 1 });
      const records = await auditRecords(bed.db.pool, `action = 'batch.cancel' AND target = $1`, [
        String(pending.id),
      ]);
      expect(records.map((r) => r.outcome)).toEqual(['started', 'success']);
    });

    it('refuses to cancel a final batch, or one the provider has finished', async () => {
      const final = await seedBatch(bed.db.pool, {
        name: 'f',
        ageMinutes: 5,
        model: 'gpt-4o-mini',
        state: 'completed',
        results: [ok(1, 1)],
      });
      const refused = await post(`/${final}/cancel`);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.code).toBe('batch_final');
      const landing = await seedBatch(bed.db.pool, {
        name: 'l',
        ageMinutes: 5,
        model: 'gpt-4o-mini',
        state: 'processing',
        results: [],
      });
      await bed.db.pool.query('UPDATE batch_jobs_vp_logs SET provider_terminal_at = now() WHERE id = $1', [
        landing,
      ]);
      expect((await post(`/${landing}/cancel`)).json().error.code).toBe('provider_finished');
    });
  });

  describe('polling control', () => {
    it('pauses and resumes one batch, and sets which batches are checked first', async () => {
      await bed.db.pool.query(
        `UPDATE batch_jobs_vp_logs SET next_poll_at = now() + interval '1 day' WHERE status = 1`,
      );
      const first = await seedBatch(bed.db.pool, {
        name: 'a',
        ageMinutes: 3,
        model: 'gpt-4o-mini',
        state: 'pending',
        results: [],
      });
      const second = await seedBatch(bed.db.pool, {
        name: 'b',
        ageMinutes: 2,
        model: 'gpt-4o-mini',
        state: 'pending',
        results: [],
      });
      await bed.db.pool.query(
        `UPDATE batch_jobs_vp_logs SET next_poll_at = now() - CASE WHEN id = $1 THEN interval '2 minutes' ELSE interval '1 minute' END
         WHERE id IN ($1, $2)`,
        [first, second],
      );

      const paused = await post(`/${first}/pause`);
      expect(paused.statusCode, paused.body).toBe(200);
      expect(paused.json().data.job).toMatchObject({ id: first, pollingPaused: true });
      const leased = await leaseDueBatches(bed.db.pool, { owner: 't', limit: 10, leaseMs: 1 });
      expect(leased.map((b) => b.id)).toEqual([second]);

      expect((await post(`/${first}/resume`)).json().data.job.pollingPaused).toBe(false);
      const prioritised = await post(`/${second}/priority`, { priority: 10 });
      expect(prioritised.json().data.job.priority).toBe(10);
      await bed.db.pool.query('UPDATE batch_jobs_vp_logs SET lease_until = NULL WHERE id IN ($1, $2)', [
        first,
        second,
      ]);
      const [top] = await leaseDueBatches(bed.db.pool, { owner: 't', limit: 1, leaseMs: 60_000 });
      expect(top!.id).toBe(second);

      const bad = await post(`/${second}/priority`, { priority: 1000 });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toMatchObject({ code: 'invalid_field', field: 'priority' });
      const actions = await auditRecords(bed.db.pool, `target IN ($1, $2) AND outcome = 'success'`, [
        String(first),
        String(second),
      ]);
      expect(actions.map((r) => r.action)).toEqual(['polling.pause', 'polling.resume', 'batch.priority']);
    });

    it('pauses every status check at once, and resumes them', async () => {
      const due = await seedBatch(bed.db.pool, {
        name: 'due',
        ageMinutes: 1,
        model: 'gpt-4o-mini',
        state: 'pending',
        results: [],
      });
      await bed.db.pool.query(
        `UPDATE batch_jobs_vp_logs SET next_poll_at = now() - interval '1 second' WHERE id = $1`,
        [due],
      );
      const paused = await post('/polling/pause');
      expect(paused.json().data.polling).toMatchObject({ paused: true, changedBy: 'operator#1' });
      expect(await leaseDueBatches(bed.db.pool, { owner: 't', limit: 100, leaseMs: 1 })).toEqual([]);
      const monitoring = (await bed.app.inject({ url: MONITORING, headers: asOperator })).json().data;
      expect(monitoring.polling.paused).toBe(true);
      expect((await post('/polling/resume')).json().data.polling.paused).toBe(false);
      expect(
        (await leaseDueBatches(bed.db.pool, { owner: 't', limit: 100, leaseMs: 60_000 })).map((b) => b.id),
      ).toContain(due);
    });

    it("pauses and resumes a provider's pending batches, and refuses an unknown provider", async () => {
      const pending = await seedBatch(bed.db.pool, {
        name: 'anthropic pending',
        ageMinutes: 1,
        model: 'claude-3-5-haiku-latest',
        state: 'pending',
        results: [],
      });
      await bed.db.pool.query(`UPDATE batch_jobs_vp_logs SET provider = 'anthropic' WHERE id = $1`, [
        pending,
      ]);
      const paused = await post('/polling/pause', { provider: 'anthropic' });
      expect(paused.statusCode, paused.body).toBe(200);
      expect(paused.json().data).toMatchObject({ polling: { paused: false }, batches: 1 });
      const flag = async () =>
        (await bed.db.pool.query('SELECT polling_paused FROM batch_jobs_vp_logs WHERE id = $1', [pending]))
          .rows[0].polling_paused;
      expect(await flag()).toBe(true);
      expect((await post('/polling/resume', { provider: 'anthropic' })).json().data.batches).toBe(1);
      expect(await flag()).toBe(false);
      const records = await auditRecords(bed.db.pool, `target = 'provider:anthropic'`);
      expect(records.map((r) => [r.action, r.details])).toEqual([
        ['polling.pause', { batches: 1 }],
        ['polling.resume', { batches: 1 }],
      ]);
      const refused = await post('/polling/pause', { provider: 'azure' });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error).toMatchObject({ code: 'invalid_field', field: 'provider' });
    });

    it('refuses to pause or prioritise a final batch', async () => {
      const final = await seedBatch(bed.db.pool, {
        name: 'f',
        ageMinutes: 5,
        model: 'gpt-4o-mini',
        state: 'failed',
        results: [failed('x')],
      });
      expect((await post(`/${final}/pause`)).json().error.code).toBe('batch_final');
      expect((await post(`/${final}/priority`, { priority: 5 })).json().error.code).toBe('batch_final');
      expect((await post('/4242424/pause')).statusCode).toBe(404);
    });
  });
});
