import { getBatchLog, insertBatchJob } from '@batchline/db';
import { describe, expect, it } from 'vitest';
import { requestLine, useActionBed } from './action-bed.ts';
import { auditRecords, failed, ok, type SeedResult } from './support.ts';

describe('manual retry of a job’s batch, with a filter of error codes', () => {
  const bed = useActionBed('monitor_retry_codes');
  const { post } = bed;

  const newJob = () =>
    insertBatchJob(bed.db.pool, {
      jobType: 'specific_viewpoint',
      provider: 'openai',
      model: 'gpt-4o-mini',
      origin: 'submit',
      totalRequests: 6,
      retryPolicy: { codes: ['http_5xx', 'batch_expired'], maxRounds: 3, delayMs: 60_000 },
    });

  /** A final part of job `batchJobId`: requests `ids` submitted to the emulator, `results` landed in order. */
  async function part(batchJobId: number, partIndex: number, ids: number[], results: SeedResult[]) {
    const { id } = await bed.submittedBatch(ids, {
      name: `part ${partIndex}`,
      ageMinutes: 30,
      model: 'gpt-4o-mini',
      state: 'completed',
      totalRequests: ids.length,
      results,
    });
    await bed.db.pool.query(
      'UPDATE batch_jobs_vp_logs SET batch_job_id = $2, part_index = $3 WHERE id = $1',
      [id, batchJobId, partIndex],
    );
    return id;
  }

  const resubmittedLines = bed.inputLines;

  // rs-1 ok, rs-2 http_500, rs-3 http_429, rs-4 batch_expired, rs-5 invalid_content, rs-6 invalid_custom_id.
  const mixed = [
    ok(10, 1),
    failed('http_500'),
    failed('http_429'),
    failed('batch_expired'),
    failed('invalid_content'),
    failed('invalid_custom_id'),
  ];

  it("without codes, resubmits the failures its job's policy retries, leaving out those that succeeded elsewhere in the job", async () => {
    const job = await newJob();
    const first = await part(job, 0, [1, 2, 3, 4, 5, 6], mixed);
    // rs-4 succeeded in the job's other part.
    await part(job, 1, [4], [ok(10, 1)]);

    const response = await post(`/${first}/retry`);
    expect(response.statusCode, response.body).toBe(201);
    const retry = response.json().data;
    expect(retry).toMatchObject({ retryOf: first, requests: 1, notResubmitted: 0 });
    expect(await resubmittedLines(retry.id)).toEqual([requestLine(2)]);
    // The next round of the job, linked to the batch it retries.
    expect(await getBatchLog(bed.db.pool, retry.id)).toMatchObject({
      batchJobId: job,
      partIndex: null,
      parentBatchLogId: first,
      retryRound: 1,
    });
  });

  it('with codes, resubmits the failures of those codes only (patterns allowed), and audits the filter', async () => {
    const job = await newJob();
    const batch = await part(job, 0, [1, 2, 3, 4, 5, 6], mixed);
    const response = await post(`/${batch}/retry`, { codes: ['http_4xx', 'invalid_content'] });
    expect(response.statusCode, response.body).toBe(201);
    const retry = response.json().data;
    expect((await resubmittedLines(retry.id)).sort()).toEqual([3, 5].map(requestLine).sort());
    const records = await auditRecords(bed.db.pool, `action = 'batch.retry' AND target = $1`, [
      String(batch),
    ]);
    expect(records.at(-1)!.details).toMatchObject({ codes: ['http_4xx', 'invalid_content'], requests: 2 });
  });

  it('refuses invalid_custom_id and malformed codes, naming the field, and a filter nothing matches', async () => {
    const job = await newJob();
    const batch = await part(job, 0, [1, 2, 3, 4, 5, 6], mixed);
    const never = await post(`/${batch}/retry`, { codes: ['invalid_custom_id'] });
    expect(never.statusCode).toBe(400);
    expect(never.json().error.message).toMatch(/never retryable/);
    expect(never.json().error.field).toMatch(/codes/);
    const malformed = await post(`/${batch}/retry`, { codes: [] });
    expect(malformed.statusCode).toBe(400);
    const nothing = await post(`/${batch}/retry`, { codes: ['http_503'] });
    expect(nothing.statusCode).toBe(409);
    expect(nothing.json().error.code).toBe('nothing_to_retry');
    // Nothing was claimed: the batch can still be retried.
    expect((await post(`/${batch}/retry`, { codes: ['http_500'] })).statusCode).toBe(201);
  });
});
