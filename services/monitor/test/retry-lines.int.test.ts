import { getBatchLog, insertBatchJob, type JobOrigin, recordJobInputs, withTransaction } from '@batchline/db';
import { describe, expect, it } from 'vitest';
import { requestLine, useActionBed } from './action-bed.ts';
import { failed, ok } from './support.ts';

describe('where a retry reads its request lines', () => {
  const bed = useActionBed('monitor_retry_lines');
  const { post } = bed;

  /** A job whose submission recorded the inputs of sentences `recorded` (none for an adopted batch). */
  async function newJob(origin: JobOrigin, recorded: number[]) {
    // The catalogue the request lines were built with (action-bed's requestLine).
    await bed.db.pool.query(
      `INSERT INTO wl_spec_vps (id, name) SELECT n, 'viewpoint ' || n FROM generate_series(1, 5) AS n
       ON CONFLICT DO NOTHING`,
    );
    return withTransaction(bed.db.pool, async (client) => {
      const job = await insertBatchJob(client, {
        jobType: 'specific_viewpoint',
        provider: 'openai',
        model: 'gpt-4o-mini',
        origin,
        totalRequests: recorded.length,
        retryPolicy: { codes: ['http_5xx', 'http_429'], maxRounds: 3, delayMs: 60_000 },
      });
      await recordJobInputs(
        client,
        job,
        recorded.map((id) => ({ requestId: String(id), fields: { text: `sentence number ${id}` } })),
      );
      return job;
    });
  }

  /** A final batch of job `batchJobId` for sentences 1–3: 1 succeeded, 2 and 3 failed retryably. */
  async function finalPart(batchJobId: number) {
    const { id } = await bed.submittedBatch([1, 2, 3], {
      name: 'part',
      ageMinutes: 30,
      model: 'gpt-4o-mini',
      state: 'completed',
      totalRequests: 3,
      results: [ok(10, 1), failed('http_500'), failed('http_429')],
    });
    await bed.db.pool.query('UPDATE batch_jobs_vp_logs SET batch_job_id = $2, part_index = 0 WHERE id = $1', [
      id,
      batchJobId,
    ]);
    return (await getBatchLog(bed.db.pool, id))!;
  }

  /** Retries batch log `id` and reads the lines its retry batch was sent. */
  async function retriedLines(id: number) {
    const response = await post(`/${id}/retry`);
    expect(response.statusCode, response.body).toBe(201);
    return bed.inputLines(response.json().data.id);
  }

  it("rebuilds a submitted job's lines from what it recorded, byte for byte, after the provider deleted its input file", async () => {
    const job = await newJob('submit', [1, 2, 3]);
    const part = await finalPart(job);
    await bed.provider.deleteFile(part.inputFileId!);
    await expect(bed.provider.openFile(part.inputFileId!)).rejects.toThrow();

    const response = await post(`/${part.id}/retry`);
    expect(response.statusCode, response.body).toBe(201);
    const retry = response.json().data;
    expect(retry).toMatchObject({ retryOf: part.id, requests: 2, notResubmitted: 0 });
    expect(await bed.inputLines(retry.id)).toEqual([requestLine(2), requestLine(3)]);
    expect(await getBatchLog(bed.db.pool, retry.id)).toMatchObject({ model: 'gpt-4o-mini', batchJobId: job });
  });

  it('resends a batcher job’s lines as the batcher built them, after the provider deleted its input file', async () => {
    const job = await newJob('batcher', []);
    const part = await finalPart(job);
    const { rows } = await bed.db.pool.query(
      `INSERT INTO batcher_batches (job_type, provider, model, idempotency_key, state, trigger, request_count,
                                    request_bytes, estimated_tokens, provider_batch_id, batch_job_id, batch_log_id)
       VALUES ('specific_viewpoint', 'openai', 'gpt-4o-mini', $1, 'recorded', 'size', 3, 0, 0, $2, $3, $4)
       RETURNING id`,
      [`key-${part.id}`, part.batchId, job, part.id],
    );
    await bed.db.pool.query(
      `INSERT INTO batcher_requests (job_type, request_id, provider, model, line, line_bytes, estimated_tokens,
                                     planned_batch_id)
       SELECT 'specific_viewpoint', id::text, 'openai', 'gpt-4o-mini', line, length(line), 0, $1
       FROM unnest($2::int[], $3::text[]) AS r (id, line)`,
      [rows[0].id, [1, 2, 3], [1, 2, 3].map(requestLine)],
    );
    await bed.provider.deleteFile(part.inputFileId!);

    expect(await retriedLines(part.id)).toEqual([requestLine(2), requestLine(3)]);
  });

  it('refuses to retry a batcher batch the provider refused after creating it: its requests are queued again', async () => {
    const job = await newJob('batcher', []);
    const part = await finalPart(job);
    await bed.db.pool.query(
      `INSERT INTO batcher_batches (job_type, provider, model, idempotency_key, state, trigger, request_count,
                                    request_bytes, estimated_tokens, provider_batch_id, batch_job_id, batch_log_id,
                                    refusal, refusal_code)
       VALUES ('specific_viewpoint', 'openai', 'gpt-4o-mini', $1, 'refused', 'size', 3, 0, 0, $2, $3, $4,
               'Enqueued token limit reached', 'token_limit_exceeded')`,
      [`key-${part.id}`, part.batchId, job, part.id],
    );
    // Its input file is still at the provider: reading the lines from it would send the requests twice.
    const response = await post(`/${part.id}/retry`);
    expect(response.statusCode, response.body).toBe(409);
    expect(response.json().error).toMatchObject({ code: 'nothing_to_retry' });
    expect(response.json().error.message).toContain('queued again');
  });

  it('reads an adopted batch’s lines from the provider’s input file', async () => {
    const job = await newJob('track', []);
    const part = await finalPart(job);
    expect(await retriedLines(part.id)).toEqual([requestLine(2), requestLine(3)]);
  });

  it('refuses to retry an adopted batch whose input file the provider deleted, naming the provider’s refusal', async () => {
    const job = await newJob('track', []);
    const part = await finalPart(job);
    await bed.provider.deleteFile(part.inputFileId!);
    const response = await post(`/${part.id}/retry`);
    expect(response.statusCode, response.body).toBe(409);
    expect(response.json().error.code).toBe('provider_refused');
  });
});
