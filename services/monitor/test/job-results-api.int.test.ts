import {
  entitiesJobTypes,
  type MigratedTestDatabase,
  migratedTestDatabase,
  parseCsv,
  type SeededJob,
  seedEntitiesJob,
} from '@batchline/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailureSchema, MonitoringDataSchema, success } from '../src/api-schema.ts';
import { DetailDataSchema, RequestsDataSchema } from '../src/detail-schema.ts';
import { asReader, auditRecords, buildTestApp } from './support.ts';

const byKey = (row: unknown) => JSON.stringify(row);
const sorted = <T>(rows: T[]): T[] => [...rows].sort((a, b) => (byKey(a) < byKey(b) ? -1 : 1));

describe('a job and its batches through the admin API: detail, request outcomes, export', () => {
  let db: MigratedTestDatabase;
  let app: FastifyInstance;
  let job: SeededJob;

  const get = (url: string, headers = asReader) => app.inject({ method: 'GET', url, headers });
  const path = (id: string | number, rest = '') => `/api/admin/batch-monitoring/${id}${rest}`;

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_job_results');
    const { jobTypes, entities } = entitiesJobTypes();
    job = await seedEntitiesJob(db.pool, entities, 'api');
    app = await buildTestApp(db.pool, { jobTypes });
    // An action taken on one of the job's batches (as the retry action audits it) shows in its timeline.
    await db.pool.query(
      `INSERT INTO audit_log (actor, action, target, outcome, status_code) VALUES ('ops', 'batch.retry', $1, 'success', 201)`,
      [String(job.parts[1])],
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('shows a job: figures counted once across rounds, its batches, final failures by code, its timeline', async () => {
    const answer = await get(path(`job-${job.jobId}`));
    expect(answer.statusCode).toBe(200);
    const { data } = success(DetailDataSchema).parse(answer.json());
    expect(data).toMatchObject({ kind: 'job', key: `job-${job.jobId}` });
    expect(data.job).toMatchObject({ id: job.jobId, jobType: 'entities', origin: 'submit', outcome: null });
    expect(data.figures).toEqual({
      totalRequests: 5,
      succeededRequests: 3,
      failedRequests: 2,
      unresolvedRequests: 0,
      batches: 3,
      pendingBatches: 0,
      retryRounds: 1,
    });
    expect(data.batches.map((batch) => [batch.id, batch.partIndex, batch.retryRound, batch.retryOf])).toEqual(
      [
        [job.parts[0], 0, 0, null],
        [job.parts[1], 1, 0, null],
        [job.retry, null, 1, job.parts[1]],
      ],
    );
    expect(data.errorSummary).toEqual([
      { error: 'http_429', count: 1, percentage: 20 },
      { error: 'invalid_content', count: 1, percentage: 20 },
    ]);
    const events = data.timeline.map((entry) => `${entry.event}:${entry.batchLogId ?? '-'}`);
    expect(events).toEqual(
      expect.arrayContaining([
        'job.created:-',
        `batch.created:${job.parts[0]}`,
        `batch.created:${job.retry}`,
        `batch.provider_ended:${job.retry}`,
        `batch.results_landed:${job.parts[1]}`,
        `audit.batch.retry:${job.parts[1]}`,
      ]),
    );
    expect(
      data.timeline.find((entry) => entry.batchLogId === job.retry && entry.event === 'batch.created'),
    ).toMatchObject({ detail: `retry round 1 of batch ${job.parts[1]}` });
    const times = data.timeline.map((entry) => entry.at);
    expect(times).toEqual([...times].sort());
  });

  it('shows one batch with its own figures and the job it belongs to', async () => {
    const { data } = success(DetailDataSchema).parse((await get(path(job.parts[1]))).json());
    expect(data).toMatchObject({ kind: 'batch', key: String(job.parts[1]), job: { id: job.jobId } });
    expect(data.figures).toMatchObject({
      totalRequests: 2,
      succeededRequests: 0,
      failedRequests: 2,
      batches: 1,
    });
    expect(data.errorSummary.map((entry) => entry.error)).toEqual(['http_429', 'invalid_content']);
  });

  it("pages a job's final request outcomes: succeeded if any round did, else the latest failure", async () => {
    const { data } = success(RequestsDataSchema).parse(
      (await get(path(`job-${job.jobId}`, '/requests'))).json(),
    );
    expect(data.pagination).toEqual({ page: 1, limit: 50, total: 5, totalPages: 1 });
    expect(data.requests.map((r) => [r.customId, r.outcome, r.errorCode, r.batchLogId])).toEqual([
      ['ent-1', 'succeeded', null, job.parts[0]],
      ['ent-2', 'succeeded', null, job.parts[0]],
      ['ent-3', 'succeeded', null, job.retry],
      ['ent-4', 'failed', 'http_429', job.retry],
      ['ent-5', 'failed', 'invalid_content', job.parts[1]],
    ]);
    expect(data.requests[3]!.errorMessage).toBe('the provider said http_429');

    const failedPage = success(RequestsDataSchema).parse(
      (await get(path(`job-${job.jobId}`, '/requests?outcome=failed&limit=1&page=2'))).json(),
    ).data;
    expect(failedPage.requests.map((r) => r.customId)).toEqual(['ent-5']);
    expect(failedPage.pagination).toEqual({ page: 2, limit: 1, total: 2, totalPages: 2 });
    const byCode = success(RequestsDataSchema).parse(
      (await get(path(`job-${job.jobId}`, '/requests?errorCode=http_429'))).json(),
    ).data;
    expect(byCode.requests.map((r) => r.customId)).toEqual(['ent-4']);
    const pastTheEnd = success(RequestsDataSchema).parse(
      (await get(path(`job-${job.jobId}`, '/requests?page=9'))).json(),
    ).data;
    expect(pastTheEnd).toMatchObject({ requests: [], pagination: { total: 5 } });
  });

  it('answers unknown ids with 404 and bad parameters with 400, in the contract error shape', async () => {
    const cases: [string, number, string, string | null][] = [
      [path('job-999999'), 404, 'job_not_found', 'id'],
      [path(999999), 404, 'batch_not_found', 'id'],
      [path('job-x'), 400, 'invalid_parameter', 'id'],
      [path(job.retry, '?extra=1'), 400, 'unknown_parameter', 'extra'],
      [path(job.retry, '/requests?outcome=maybe'), 400, 'invalid_parameter', 'outcome'],
      [path(job.retry, '/requests?limit=1000'), 400, 'invalid_parameter', 'limit'],
      [path(job.retry, '/export?what=rows'), 400, 'invalid_parameter', 'format'],
      [path(job.retry, '/export?what=everything&format=csv'), 400, 'invalid_parameter', 'what'],
      [path(`job-${job.jobId}`, '/requests?errorCode=a%20b'), 400, 'invalid_parameter', 'errorCode'],
    ];
    for (const [url, status, code, field] of cases) {
      const answer = await get(url);
      expect({ url, status: answer.statusCode }).toEqual({ url, status });
      expect(FailureSchema.parse(answer.json()).error).toMatchObject({ code, field });
    }
    expect((await app.inject({ method: 'GET', url: path(job.retry) })).statusCode).toBe(401);
  });

  it("exports a job's landed rows as CSV exactly as Postgres holds them (commas, quotes, line breaks, NULL)", async () => {
    const answer = await get(path(`job-${job.jobId}`, '/export?what=rows&format=csv'));
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/csv/);
    expect(answer.headers['content-disposition']).toBe(
      `attachment; filename="batchline-job-${job.jobId}-rows.csv"`,
    );
    const [header, ...records] = parseCsv(answer.body);
    expect(header).toEqual(['doc_id', 'name', 'kind', 'confidence', 'meta', 'batch_log_id', 'created_at']);
    const { rows: landed } = await db.pool.query<Record<string, string | null>>(
      `SELECT doc_id::text, name, kind, confidence::text, meta::text, batch_log_id::text, created_at::text
       FROM analytics.document_entities`,
    );
    expect(sorted(records)).toEqual(sorted(landed.map((row) => Object.values(row))));
    expect(records.map((record) => record[1])).toEqual(
      expect.arrayContaining(['Smith, "John"', 'line one\nline two\r\nthree', '']),
    );
  });

  it('exports the landed rows as JSONL with their types (numbers, null, JSON objects)', async () => {
    const answer = await get(path(`job-${job.jobId}`, '/export?what=rows&format=jsonl'));
    expect(answer.statusCode).toBe(200);
    expect(answer.body.endsWith('\n')).toBe(true);
    const lines = answer.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.every((line) => typeof line.created_at === 'string')).toBe(true);
    expect(sorted(lines.map(({ created_at: _, ...row }) => row))).toEqual(sorted(job.rows));
  });

  it("exports a job's final outcomes, and one batch's", async () => {
    const jsonl = await get(path(`job-${job.jobId}`, '/export?what=outcomes&format=jsonl'));
    const outcomes = jsonl.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(outcomes.map((o) => [o.custom_id, o.outcome, o.error_code, o.retry_round])).toEqual([
      ['ent-1', 'succeeded', null, 0],
      ['ent-2', 'succeeded', null, 0],
      ['ent-3', 'succeeded', null, 1],
      ['ent-4', 'failed', 'http_429', 1],
      ['ent-5', 'failed', 'invalid_content', 0],
    ]);
    const csv = parseCsv((await get(path(job.parts[0], '/export?what=outcomes&format=csv'))).body);
    expect(csv.slice(1).map((record) => [record[0], record[1]])).toEqual([
      ['ent-1', 'succeeded'],
      ['ent-2', 'succeeded'],
      ['ent-3', 'failed'],
    ]);
  });

  it("exports a job's kept raw answers (what=answers) as the provider wrote them, in CSV and JSONL", async () => {
    const answers: [number, string, string][] = [
      [
        job.parts[0],
        'ent-1',
        '{"custom_id": "ent-1", "response": {"body": {"text": "a, \\"quoted\\"\\nline"}}}',
      ],
      [
        job.retry,
        'ent-4',
        '{"custom_id":"ent-4","error":{"code":"rate_limit_exceeded","message":"ünïcode 🎉"}}',
      ],
    ];
    for (const [batchLogId, customId, answer] of answers)
      await db.pool.query(
        'INSERT INTO batch_request_answers (batch_log_id, custom_id, answer) VALUES ($1, $2, $3)',
        [batchLogId, customId, answer],
      );
    const jsonl = await get(path(`job-${job.jobId}`, '/export?what=answers&format=jsonl'));
    expect(jsonl.statusCode).toBe(200);
    expect(
      jsonl.body
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual(
      answers.map(([batchLogId, customId, answer]) => ({
        custom_id: customId,
        batch_log_id: batchLogId,
        answer,
      })),
    );
    const csv = parseCsv((await get(path(job.retry, '/export?what=answers&format=csv'))).body);
    expect(csv).toEqual([
      ['custom_id', 'batch_log_id', 'answer'],
      ['ent-4', String(job.retry), answers[1]![2]],
    ]);
  });

  it('audits each read', async () => {
    const records = await auditRecords(
      db.pool,
      "action IN ('detail.read', 'requests.read', 'export.read') AND outcome = 'success'",
    );
    expect(new Set(records.map((record) => record.action))).toEqual(
      new Set(['detail.read', 'requests.read', 'export.read']),
    );
    expect(records.every((record) => record.actor !== 'anonymous')).toBe(true);
  });

  it('lists jobs beside the batches in the monitoring view, every contract field kept', async () => {
    const { data } = success(MonitoringDataSchema).parse((await get('/api/admin/batch-monitoring')).json());
    expect(data.jobs.length).toBe(3);
    expect(data.batchJobs).toHaveLength(1);
    expect(data.batchJobs[0]).toMatchObject({
      key: `job-${job.jobId}`,
      figures: { succeededRequests: 3, failedRequests: 2, batches: 3, retryRounds: 1 },
    });
    expect(data.batchJobs[0]!.batches.map((batch) => batch.id)).toEqual([...job.parts, job.retry]);
  });
});
