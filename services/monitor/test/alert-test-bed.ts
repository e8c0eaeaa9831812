import { type MigratedTestDatabase, migratedTestDatabase, silentLogger } from '@batchline/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createMonitorMetrics } from '../src/metrics.ts';
import { buildTestApp } from './support.ts';

/**
 * The set-up the alert tests share: a migrated database `databaseName` and the monitor app over it for the suite, and
 * no batches, results, facts, alerts, digests or outbox rows (nor a remembered last alert) before each test.
 */
export function alertTestBed(databaseName: string) {
  let db: MigratedTestDatabase | undefined;
  let app: FastifyInstance | undefined;
  const metrics = createMonitorMetrics(async () => ({}));
  const started = <T>(part: T | undefined): T => {
    if (part === undefined) throw new Error('the alert test bed is used before beforeAll ran');
    return part;
  };
  beforeAll(async () => {
    db = await migratedTestDatabase(databaseName);
    app = await buildTestApp(db.pool);
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });
  beforeEach(async () => {
    const pool = started(db).pool;
    await pool.query(
      'TRUNCATE batch_jobs_vp_logs, batch_request_results, monitor_batch_facts, monitor_hourly_facts, alerts, alert_digests, outbox',
    );
    await pool.query('UPDATE alert_state SET last_raised_at = NULL');
  });
  return {
    get pool() {
      return started(db).pool;
    },
    get app() {
      return started(app);
    },
    /** What evaluateAlerts and sendDueDigests need. */
    deps: () => ({ pool: started(db).pool, log: silentLogger, metrics }),
  };
}
