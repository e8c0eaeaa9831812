import { beforeEach, describe, expect, it } from 'vitest';
import { formatMinute } from '../src/alert-cadence.ts';
import { sendDueDigests } from '../src/alert-digests.ts';
import { evaluateAlerts } from '../src/alerts.ts';
import { alertTestBed } from './alert-test-bed.ts';
import { asOperator, failed, seedBatch } from './support.ts';

const ALERTS = '/api/admin/batch-monitoring/alerts';

describe('alert cadence, quiet hours and scope per rule', () => {
  const bed = alertTestBed('monitor_alert_cadence');
  beforeEach(async () => {
    // Only batch_failures is watched here.
    await bed.pool.query(
      'UPDATE alert_config SET error_rate_percent = NULL, processing_time_ms = NULL, stuck_batch_ms = NULL',
    );
    await bed.pool.query(
      `UPDATE alert_rules SET cadence = 'immediate', quiet_start_minute = NULL, quiet_end_minute = NULL,
         job_type = NULL, provider = NULL`,
    );
  });

  const post = (payload: object) =>
    bed.app.inject({ method: 'POST', url: ALERTS, headers: asOperator, payload });
  const setRule = async (delivery: object) => {
    const response = await post({ perRule: { batch_failures: delivery } });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().data.rules.perRule.batch_failures;
  };
  /** A batch that ended failed just now: batch_failures holds (threshold 1). */
  const failBatch = (provider: 'openai' | 'anthropic' = 'openai') =>
    seedBatch(bed.pool, {
      name: 'failed',
      ageMinutes: 10,
      model: 'gpt-4o-mini',
      provider,
      state: 'failed',
      results: [failed('batch_expired')],
    });
  const outbox = async () =>
    (
      await bed.pool.query(
        `SELECT msg_id, payload FROM outbox WHERE subject LIKE '%alert.raised' ORDER BY id`,
      )
    ).rows;
  const alertRows = async () => (await bed.pool.query('SELECT * FROM alerts ORDER BY id')).rows;

  it('reads and changes each rule’s cadence, quiet hours and scope, and refuses bad ones naming the field', async () => {
    const initial = (await bed.app.inject({ url: ALERTS, headers: asOperator })).json().data.rules.perRule;
    expect(Object.keys(initial).sort()).toEqual([
      'batch_failures',
      'high_error_rate',
      'long_processing_time',
      'low_throughput',
      'stuck_batches',
    ]);
    expect(initial.high_error_rate).toEqual({
      cadence: 'immediate',
      quietHours: null,
      jobType: null,
      provider: null,
    });
    expect(
      await setRule({
        cadence: 'hourly',
        quietHours: { start: '22:00', end: '07:30' },
        provider: 'anthropic',
      }),
    ).toEqual({
      cadence: 'hourly',
      quietHours: { start: '22:00', end: '07:30', timeZone: 'UTC' },
      jobType: null,
      provider: 'anthropic',
    });
    // Quiet hours on the clocks of an IANA time zone.
    expect(
      (await setRule({ quietHours: { start: '22:00', end: '07:30', timeZone: 'Europe/Berlin' } })).quietHours,
    ).toEqual({ start: '22:00', end: '07:30', timeZone: 'Europe/Berlin' });
    // Absent fields stay; null clears.
    expect(await setRule({ jobType: 'review_sentiment', quietHours: null })).toEqual({
      cadence: 'hourly',
      quietHours: null,
      jobType: 'review_sentiment',
      provider: 'anthropic',
    });
    const refused = [
      [{ perRule: { batch_failures: { cadence: 'weekly' } } }, 'perRule.batch_failures.cadence'],
      [
        { perRule: { batch_failures: { quietHours: { start: '25:00', end: '07:00' } } } },
        'perRule.batch_failures.quietHours.start',
      ],
      [
        { perRule: { batch_failures: { quietHours: { start: '07:00', end: '07:00' } } } },
        'perRule.batch_failures.quietHours',
      ],
      [
        {
          perRule: {
            batch_failures: { quietHours: { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus' } },
          },
        },
        'perRule.batch_failures.quietHours.timeZone',
      ],
      [{ perRule: { batch_failures: { provider: 'mistral' } } }, 'perRule.batch_failures.provider'],
      [{ perRule: { batch_failures: { colour: 'red' } } }, 'colour'],
      [{ perRule: { no_such_rule: { cadence: 'daily' } } }, 'no_such_rule'],
    ] as const;
    for (const [payload, field] of refused) {
      const response = await post(payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error.field, JSON.stringify(payload)).toBe(field);
    }
  });

  it('holds an hourly rule’s alerts and sends their digest once, whichever replica gets there, even after a restart', async () => {
    await setRule({ cadence: 'hourly' });
    await failBatch();
    const [raised] = await evaluateAlerts(bed.deps());
    const { rows } = await bed.pool.query<{ hour_end: Date }>(
      `SELECT date_trunc('hour', $1::timestamptz, 'UTC') + interval '1 hour' AS hour_end`,
      [raised!.raisedAt],
    );
    expect(raised).toMatchObject({ condition: 'batch_failures', dueAt: rows[0]!.hour_end, digestOf: null });
    expect(await outbox()).toEqual([]);
    expect(await sendDueDigests(bed.deps())).toEqual([]); // not due before the hour ends

    // A second alert in the same hour (its suppression window over), then the hour ends.
    await bed.pool.query('UPDATE alert_state SET last_raised_at = NULL');
    await failBatch();
    await evaluateAlerts(bed.deps());
    await bed.pool.query(
      `UPDATE alerts SET due_at = date_trunc('milliseconds', now()) - interval '1 second' WHERE due_at = $1`,
      [rows[0]!.hour_end],
    );
    // Three monitors at once, then one restarted later: one digest.
    const sent = (
      await Promise.all([sendDueDigests(bed.deps()), sendDueDigests(bed.deps()), sendDueDigests(bed.deps())])
    ).flat();
    expect(sent).toHaveLength(1);
    expect(await sendDueDigests(bed.deps())).toEqual([]);
    const events = await outbox();
    expect(events).toHaveLength(1);
    expect(events[0].msg_id).toBe(`alert:${sent[0]!.id}`);
    expect(events[0].payload).toMatchObject({ condition: 'batch_failures', alertId: sent[0]!.id });
    expect(events[0].payload.message).toMatch(/^2 alert\(s\) hourly digest, from /);
    const alerts = await alertRows();
    expect(alerts.map((a) => [a.digest_of, a.digested_in === null ? null : Number(a.digested_in)])).toEqual([
      [null, sent[0]!.id],
      [null, sent[0]!.id],
      [2, null],
    ]);
  });

  it('respects quiet hours: an immediate alert raised in them waits for their end; outside them it goes at once', async () => {
    const { rows } = await bed.pool.query<{ minute: number }>(
      `SELECT (extract(hour FROM now() AT TIME ZONE 'UTC') * 60 + extract(minute FROM now() AT TIME ZONE 'UTC'))::int AS minute`,
    );
    const minute = rows[0]!.minute;
    const around = { start: formatMinute((minute + 1380) % 1440), end: formatMinute((minute + 60) % 1440) };
    await setRule({ quietHours: around });
    await failBatch();
    const [held] = await evaluateAlerts(bed.deps());
    expect(held!.dueAt).not.toBeNull();
    expect(held!.dueAt!.getTime() - held!.raisedAt.getTime()).toBeGreaterThan(58 * 60_000);
    expect(held!.dueAt!.getTime() - held!.raisedAt.getTime()).toBeLessThanOrEqual(60 * 60_000);
    expect(await outbox()).toEqual([]);
    expect(await sendDueDigests(bed.deps())).toEqual([]);

    // Quiet hours elsewhere in the day: at once.
    await setRule({
      quietHours: { start: formatMinute((minute + 120) % 1440), end: formatMinute((minute + 180) % 1440) },
    });
    await bed.pool.query('UPDATE alert_state SET last_raised_at = NULL');
    const [immediate] = await evaluateAlerts(bed.deps());
    expect(immediate!.dueAt).toBeNull();
    expect((await outbox()).map((event) => event.msg_id)).toEqual([`alert:${immediate!.id}`]);
  });

  it('watches only the rule’s provider or job type, and says so in the message', async () => {
    await setRule({ provider: 'anthropic' });
    await failBatch('openai');
    expect(await evaluateAlerts(bed.deps())).toEqual([]);
    await setRule({ provider: 'openai', jobType: 'specific_viewpoint' });
    const [raised] = await evaluateAlerts(bed.deps());
    expect(raised!.message).toBe(
      '[job type specific_viewpoint, provider openai] 1 batch(es) failed in the last 1h',
    );
    await setRule({ provider: null, jobType: 'review_sentiment' });
    await bed.pool.query('UPDATE alert_state SET last_raised_at = NULL');
    expect(await evaluateAlerts(bed.deps())).toEqual([]);
  });
});
