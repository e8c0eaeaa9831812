import { createLogger } from '@batchline/logging';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  asOperator,
  asReader,
  auditRecords,
  buildTestApp,
  failed,
  OPERATOR_TOKEN,
  ok,
  READER_TOKEN,
  seedBatch,
} from './support.ts';

const MONITORING = '/api/admin/batch-monitoring';

/** Error bodies never carry stacks, SQL or file paths (SC12). */
const LEAKS = /\bat .+:\d+|\.ts\b|SELECT |INSERT |pg_|node_modules|Error:/;

describe('admin API security (contract §7, reliability SC1–SC12)', () => {
  let db: MigratedTestDatabase;
  let app: FastifyInstance;
  let clock = Date.now();
  const logLines: string[] = [];
  let finalBatch: number;

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_security');
    finalBatch = await seedBatch(db.pool, {
      name: 'final',
      ageMinutes: 60,
      model: 'gpt-4o-mini',
      state: 'completed',
      results: [ok(10, 1), failed('server_error')],
    });
    const log = createLogger({
      service: 'monitor-test',
      level: 'debug',
      destination: { write: (line: string) => logLines.push(line) },
    });
    app = await buildTestApp(db.pool, { log, now: () => clock });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });
  beforeEach(() => {
    // A new minute for every test: earlier tests' requests do not count against its rate limit.
    clock += 120_000;
  });

  const expectError = (
    response: { statusCode: number; json(): unknown; body: string },
    status: number,
    code: string,
    field: string | null = null,
  ) => {
    expect(response.statusCode, response.body).toBe(status);
    expect(response.json()).toEqual({ success: false, error: { code, message: expect.any(String), field } });
    expect(response.body).not.toMatch(LEAKS);
  };

  describe('authentication', () => {
    it.each([
      ['no header', {}],
      ['an empty header', { authorization: '' }],
      ['a wrong token', { authorization: 'Bearer not-a-real-token' }],
      ['a token one character short', { authorization: `Bearer ${OPERATOR_TOKEN.slice(0, -1)}` }],
      ['the wrong scheme', { authorization: `Basic ${OPERATOR_TOKEN}` }],
      ['no scheme', { authorization: OPERATOR_TOKEN }],
    ])('answers 401 to %s, and audits it', async (_case, headers) => {
      const before = (await auditRecords(db.pool)).length;
      const response = await app.inject({ url: `${MONITORING}?timeRange=24h`, headers });
      expectError(response, 401, 'unauthorized');
      expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
      const [record] = (await auditRecords(db.pool)).slice(before);
      expect(record).toMatchObject({
        actor: 'anonymous',
        action: 'monitoring.read',
        outcome: 'denied',
        status_code: 401,
      });
    });

    it('ignores a token in the query string', async () => {
      const response = await app.inject({ url: `${MONITORING}?access_token=${OPERATOR_TOKEN}` });
      expectError(response, 401, 'unauthorized');
    });

    it('guards actions and unknown admin routes alike', async () => {
      expectError(
        await app.inject({ method: 'POST', url: `${MONITORING}/${finalBatch}/retry` }),
        401,
        'unauthorized',
      );
      expectError(await app.inject({ url: '/api/admin/secret-debug-route' }), 401, 'unauthorized');
      expectError(
        await app.inject({ url: '/api/admin/secret-debug-route', headers: asOperator }),
        404,
        'not_found',
      );
    });

    it('refuses every request when no token is configured', async () => {
      const closed = await buildTestApp(db.pool, { operatorTokens: [], readerTokens: [] });
      try {
        expectError(await closed.inject({ url: MONITORING, headers: asOperator }), 401, 'unauthorized');
      } finally {
        await closed.close();
      }
    });

    it('lets a read-only token read but not act (403, audited)', async () => {
      expect((await app.inject({ url: MONITORING, headers: asReader })).statusCode).toBe(200);
      for (const url of [
        `${MONITORING}/${finalBatch}/retry`,
        `${MONITORING}/polling/pause`,
        `${MONITORING}/alerts`,
      ]) {
        const response = await app.inject({ method: 'POST', url, headers: asReader, payload: {} });
        expectError(response, 403, 'forbidden');
      }
      const denied = await auditRecords(db.pool, `actor = 'reader#1' AND outcome = 'denied'`);
      expect(denied.map((r) => r.action)).toEqual(['batch.retry', 'polling.pause', 'alerts.update']);
      expect((await db.pool.query('SELECT paused FROM polling_control')).rows[0].paused).toBe(false);
    });
  });

  describe('rate limit', () => {
    it('answers the 61st request of a minute with 429 and Retry-After, per token', async () => {
      for (let i = 0; i < 60; i++) {
        const response = await app.inject({ url: `${MONITORING}/alerts`, headers: asOperator });
        expect(response.statusCode).toBe(200);
        expect(response.headers['x-ratelimit-remaining']).toBe(String(59 - i));
      }
      clock += 30_000;
      const limited = await app.inject({ url: MONITORING, headers: asOperator });
      expectError(limited, 429, 'rate_limited');
      expect(limited.headers['retry-after']).toBe('30');
      // Another token has its own budget.
      expect((await app.inject({ url: MONITORING, headers: asReader })).statusCode).toBe(200);
      const [record] = (await auditRecords(db.pool, `outcome = 'rate_limited'`)).slice(-1);
      expect(record).toMatchObject({ actor: 'operator#1', status_code: 429 });
      clock += 30_001;
      expect((await app.inject({ url: MONITORING, headers: asOperator })).statusCode).toBe(200);
    });

    it('limits failed authentication per address too', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 62; i++) {
        statuses.push(
          (await app.inject({ url: MONITORING, headers: { authorization: `Bearer guess-${i}` } })).statusCode,
        );
      }
      expect(statuses.slice(0, 60).every((status) => status === 401)).toBe(true);
      expect(statuses.slice(60)).toEqual([429, 429]);
    });
  });

  describe('validation', () => {
    it.each([
      ['timeRange=2h', 'timeRange', 'invalid_parameter'],
      ['status=1%20OR%201%3D1', 'status', 'invalid_parameter'],
      ['jobType=x%27%3B%20DROP%20TABLE%20batch_jobs_vp_logs%3B%20--', 'jobType', 'invalid_parameter'],
      ['jobType=%00', 'jobType', 'invalid_parameter'],
      ['jobType=%E2%9C%93', 'jobType', 'invalid_parameter'],
      ['includeDetails=maybe', 'includeDetails', 'invalid_parameter'],
      ['limit=1e9', 'limit', 'invalid_parameter'],
      ['limit=-1', 'limit', 'invalid_parameter'],
      ['limit=abc', 'limit', 'invalid_parameter'],
      ['limit=101', 'limit', 'invalid_parameter'],
      ['limit=100&limit=5', 'limit', 'invalid_parameter'],
      ['page=1000000000000', 'page', 'invalid_parameter'],
      ['sort=created_at%20desc%2C%20(select%20pg_sleep(5))', 'sort', 'unknown_parameter'],
      ['q=%27', 'q', 'unknown_parameter'],
    ])('answers %s with a 400 naming %s, and audits it', async (query, field, code) => {
      const before = (await auditRecords(db.pool)).length;
      const started = Date.now();
      expectError(await app.inject({ url: `${MONITORING}?${query}`, headers: asOperator }), 400, code, field);
      expect(Date.now() - started).toBeLessThan(4_000);
      const [record] = (await auditRecords(db.pool)).slice(before);
      expect(record).toMatchObject({ outcome: 'invalid', status_code: 400, details: { code, field } });
    });

    it('leaves the tables intact after injection-shaped input', async () => {
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM batch_jobs_vp_logs');
      expect(rows[0].n).toBe(1);
    });

    it.each([
      ['abc', 'id'],
      ['0', 'id'],
      ['1%20OR%201%3D1', 'id'],
      ['99999999999999999999', 'id'],
    ])('refuses batch log id %s', async (id, field) => {
      expectError(
        await app.inject({
          method: 'POST',
          url: `${MONITORING}/${id}/cancel`,
          headers: asOperator,
          payload: {},
        }),
        400,
        'invalid_parameter',
        field,
      );
    });

    it('rejects unknown body fields (mass assignment) instead of dropping them', async () => {
      const response = await app.inject({
        method: 'POST',
        url: `${MONITORING}/${finalBatch}/retry`,
        headers: asOperator,
        payload: { status: 2, processed_sentences: 0 },
      });
      expectError(response, 400, 'unknown_field', 'status');
      const { rows } = await db.pool.query(
        'SELECT status, processed_sentences FROM batch_jobs_vp_logs WHERE id = $1',
        [finalBatch],
      );
      expect(rows[0]).toEqual({ status: 2, processed_sentences: 1 });
      expectError(
        await app.inject({
          method: 'POST',
          url: `${MONITORING}/alerts`,
          headers: asOperator,
          payload: { errorRateThreshold: 5, mute: true },
        }),
        400,
        'unknown_field',
        'mute',
      );
      expectError(
        await app.inject({
          method: 'POST',
          url: `${MONITORING}/alerts`,
          headers: asOperator,
          payload: { errorRateThreshold: 150 },
        }),
        400,
        'invalid_field',
        'errorRateThreshold',
      );
    });

    it('answers malformed bodies with 400, 413 and 415, never 500', async () => {
      const post = (payload: string, contentType: string) =>
        app.inject({
          method: 'POST',
          url: `${MONITORING}/polling/pause`,
          headers: { ...asOperator, 'content-type': contentType },
          payload,
        });
      expectError(await post('{"broken": ', 'application/json'), 400, 'invalid_body', '(body)');
      expectError(await post('', 'application/json'), 400, 'invalid_body', '(body)');
      expectError(await post('[1, 2]', 'application/json'), 400, 'invalid_body', '(body)');
      expectError(
        await post('{"__proto__": {"admin": true}}', 'application/json'),
        400,
        'invalid_body',
        '(body)',
      );
      expectError(
        await post('paused=true', 'application/x-www-form-urlencoded'),
        415,
        'unsupported_media_type',
      );
      expectError(
        await post(`{"pad": "${'x'.repeat(10 * 1024 * 1024)}"}`, 'application/json'),
        413,
        'body_too_large',
      );
      expect((await db.pool.query('SELECT paused FROM polling_control')).rows[0].paused).toBe(false);
    });

    it('never answers 500 to any of a spread of odd requests', async () => {
      const odd = [
        `${MONITORING}?timeRange=%ZZ`,
        `${MONITORING}?${'a'.repeat(5000)}=1`,
        `${MONITORING}?status[]=failed`,
        `${MONITORING}?status[$ne]=x`,
        `${MONITORING}/%00/retry`,
        `${MONITORING}/..%2F..%2Fetc%2Fpasswd/retry`,
        `${MONITORING}/${'9'.repeat(400)}/cancel`,
        `${MONITORING}/1/priority`,
      ];
      for (const url of odd) {
        for (const method of ['GET', 'POST'] as const) {
          clock += 2_000;
          const response = await app.inject({
            method,
            url,
            headers: asOperator,
            payload: method === 'POST' ? {} : undefined,
          });
          expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(500);
          expect(response.body).not.toMatch(LEAKS);
        }
      }
    });
  });

  describe('audit log', () => {
    it('refuses reads and actions whose audit record cannot be written (no action without audit)', async () => {
      await db.pool.query(`CREATE FUNCTION refuse_audit() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION 'audit storage unavailable'; END $$ LANGUAGE plpgsql`);
      await db.pool.query(
        'CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()',
      );
      try {
        expectError(await app.inject({ url: MONITORING, headers: asOperator }), 503, 'audit_unavailable');
        expectError(
          await app.inject({
            method: 'POST',
            url: `${MONITORING}/polling/pause`,
            headers: asOperator,
            payload: {},
          }),
          503,
          'audit_unavailable',
        );
        expect((await db.pool.query('SELECT paused FROM polling_control')).rows[0].paused).toBe(false);
      } finally {
        await db.pool.query('DROP TRIGGER refuse_audit ON audit_log; DROP FUNCTION refuse_audit()');
      }
    });

    it('never stores or logs a token', async () => {
      const { rows } = await db.pool.query('SELECT audit_log::text AS row FROM audit_log');
      expect(rows.length).toBeGreaterThan(50);
      for (const { row } of rows) {
        expect(row).not.toContain(OPERATOR_TOKEN);
        expect(row).not.toContain(READER_TOKEN);
      }
      const text = logLines.join('');
      expect(text).not.toContain(OPERATOR_TOKEN);
      expect(text).not.toContain(READER_TOKEN);
    });
  });

  it('serves the API, /healthz, /readyz and /metrics over a real socket', async () => {
    const served = await buildTestApp(db.pool);
    try {
      const address = await served.listen({ port: 0, host: '127.0.0.1' });
      expect((await fetch(`${address}${MONITORING}`)).status).toBe(401);
      const answer = await fetch(`${address}${MONITORING}?timeRange=1h`, { headers: asOperator });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(((await answer.json()) as { success: boolean }).success).toBe(true);
      expect(await (await fetch(`${address}/healthz`)).json()).toEqual({ status: 'ok' });
      expect(await (await fetch(`${address}/readyz`)).json()).toEqual({
        status: 'ready',
        checks: { postgres: true },
      });
      const metrics = await (await fetch(`${address}/metrics`)).text();
      expect(metrics).toContain('batchline_batches{state="completed"} 1');
      expect(metrics).toMatch(
        /batchline_monitor_http_requests_total\{route="\/api\/admin\/batch-monitoring",method="GET",status="401"\} 1/,
      );
      expect(metrics).not.toContain(OPERATOR_TOKEN);
    } finally {
      await served.close();
    }
  });
});
