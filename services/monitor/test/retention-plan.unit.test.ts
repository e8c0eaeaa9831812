import { loadSettings } from '@batchline/config';
import { BatchStatus } from '@batchline/domain';
import { describe, expect, it } from 'vitest';
import { NEVER_PURGED, purgePlan, RETENTION_FAMILIES, retentionDays } from '../src/retention/plan.ts';
import { monitorSettings } from '../src/settings.ts';

const configOf = (env: Record<string, string> = {}) => loadSettings(monitorSettings, env);

describe('the retention purge plan', () => {
  it('keeps 30 days of every family by default, and purges daily, 1,000 rows a statement', () => {
    const config = configOf();
    expect(retentionDays(config)).toEqual(Object.fromEntries(RETENTION_FAMILIES.map((f) => [f, 30])));
    expect(config.RETENTION_PURGE_INTERVAL).toBe(86_400_000);
    expect(config.RETENTION_PURGE_BATCH_ROWS).toBe(1000);
  });

  it('applies BATCH_MONITORING_RETENTION_DAYS to every family without its own setting', () => {
    const days = retentionDays(
      configOf({
        BATCH_MONITORING_RETENTION_DAYS: '90',
        RETENTION_AUDIT_LOG_DAYS: '365',
        RETENTION_OUTBOX_DAYS: '7',
      }),
    );
    expect(days).toEqual({
      audit_log: 365,
      notifications: 90,
      alerts: 90,
      request_outcomes: 90,
      outbox: 7,
      poll_cycles: 90,
    });
  });

  it('has a step for every family, each table once, with the days of its family', () => {
    const plan = purgePlan(configOf({ RETENTION_NOTIFICATIONS_DAYS: '3', RETENTION_POLL_CYCLES_DAYS: '5' }));
    expect(new Set(plan.map((step) => step.family))).toEqual(new Set(RETENTION_FAMILIES));
    expect(plan.map((step) => step.table)).toEqual([
      'audit_log',
      'notifications',
      'webhook_deliveries',
      'alerts',
      'alert_digests',
      'batch_request_results',
      'batch_request_ids',
      'batch_request_answers',
      'batch_job_inputs',
      'outbox',
      'poller_cycles',
    ]);
    expect(plan.find((step) => step.table === 'notifications')?.days).toBe(3);
    expect(plan.find((step) => step.table === 'poller_cycles')?.days).toBe(5);
    expect(plan.find((step) => step.table === 'audit_log')?.days).toBe(30);
  });

  it('never deletes from the landed results, the batch logs or the catalogue', () => {
    for (const step of purgePlan(configOf())) {
      expect(NEVER_PURGED).not.toContain(step.table);
      expect(step.statement).toMatch(new RegExp(`^DELETE FROM ${step.table} WHERE`));
      for (const kept of NEVER_PURGED)
        expect(step.statement).not.toMatch(new RegExp(`DELETE FROM ${kept}\\b`));
    }
  });

  it('deletes in bounded batches by tuple id, skipping locked rows, below the announced cutoff', () => {
    for (const step of purgePlan(configOf())) {
      expect(step.statement).toContain('ctid = ANY(ARRAY(');
      expect(step.statement).toMatch(/LIMIT \$1 FOR UPDATE OF t SKIP LOCKED\)\)$/);
      expect(step.statement).toContain("current_setting('batchline.retention_cutoff')::timestamptz");
      expect(step.statement).not.toContain('$cutoff');
    }
  });

  it('keeps what is still owed: unpublished outbox rows, undelivered messages, outcomes of pending batches', () => {
    const byTable = Object.fromEntries(purgePlan(configOf()).map((step) => [step.table, step.statement]));
    expect(byTable.outbox).toContain('published_at IS NOT NULL');
    expect(byTable.notifications).toContain("state IN ('sent', 'logged', 'failed', 'digested')");
    expect(byTable.batch_request_results).toContain(
      `b.status IN (${BatchStatus.completed}, ${BatchStatus.failed})`,
    );
    expect(byTable.batch_request_ids).toContain(
      `b.status IN (${BatchStatus.completed}, ${BatchStatus.failed})`,
    );
    expect(byTable.batch_request_answers).toContain(
      `b.status IN (${BatchStatus.completed}, ${BatchStatus.failed})`,
    );
  });

  it.each([
    ['BATCH_MONITORING_RETENTION_DAYS', '0'],
    ['RETENTION_ALERTS_DAYS', 'a week'],
    ['RETENTION_PURGE_BATCH_ROWS', '0'],
    ['RETENTION_PURGE_INTERVAL', 'daily'],
  ])('refuses %s=%j naming the variable', (variable, value) => {
    expect(() => configOf({ [variable]: value })).toThrow(new RegExp(`^${variable}: `));
  });
});
