import { busNaming, connectBus } from '@batchline/bus';
import { AlertRaisedEvent, decodeEvent, Subjects } from '@batchline/events';
import { startOutboxRelay } from '@batchline/outbox';
import { silentLogger, testNamespace, testNatsUrl, waitFor } from '@batchline/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { evaluateAlerts, startAlertEvaluator } from '../src/alerts.ts';
import { alertTestBed } from './alert-test-bed.ts';
import { asOperator, auditRecords, failed, ok, seedBatch } from './support.ts';

const ALERTS = '/api/admin/batch-monitoring/alerts';

describe('alert rules and alerts', () => {
  const bed = alertTestBed('monitor_alerts');

  it('reads the default rules, changes some, and audits the change', async () => {
    const initial = (await bed.app.inject({ url: ALERTS, headers: asOperator })).json().data;
    expect(initial.rules).toMatchObject({
      errorRateThreshold: 10,
      processingTimeThreshold: 3_600_000,
      throughputThreshold: null,
      stuckBatchThreshold: 1_800_000,
      batchFailureThreshold: 1,
      notificationChannels: ['slack'],
      alertSuppression: 3_600_000,
      evaluationWindow: 3_600_000,
    });
    expect(initial.recent).toEqual([]);

    const change = {
      errorRateThreshold: 25,
      throughputThreshold: 0.5,
      notificationChannels: ['slack', 'log'],
      alertSuppression: 600_000,
    };
    const response = await bed.app.inject({
      method: 'POST',
      url: ALERTS,
      headers: asOperator,
      payload: change,
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().data.rules).toMatchObject({
      ...change,
      processingTimeThreshold: 3_600_000,
      updatedBy: 'operator#1',
    });
    expect((await bed.app.inject({ url: ALERTS, headers: asOperator })).json().data.rules).toMatchObject(
      change,
    );
    const [record] = (await auditRecords(bed.pool, `action = 'alerts.update'`)).slice(-1);
    expect(record).toMatchObject({ outcome: 'success', details: change });

    const off = await bed.app.inject({
      method: 'POST',
      url: ALERTS,
      headers: asOperator,
      payload: { errorRateThreshold: null },
    });
    expect(off.json().data.rules.errorRateThreshold).toBeNull();
    const nothing = await bed.app.inject({ method: 'POST', url: ALERTS, headers: asOperator, payload: {} });
    expect(nothing.statusCode).toBe(400);
    expect(nothing.json().error.field).toBe('(body)');
    const repeated = await bed.app.inject({
      method: 'POST',
      url: ALERTS,
      headers: asOperator,
      payload: { notificationChannels: ['slack', 'slack'] },
    });
    expect(repeated.json().error).toMatchObject({ code: 'invalid_field', field: 'notificationChannels' });
    await bed.app.inject({
      method: 'POST',
      url: ALERTS,
      headers: asOperator,
      payload: {
        errorRateThreshold: 10,
        throughputThreshold: null,
        notificationChannels: ['slack'],
        alertSuppression: 3_600_000,
      },
    });
  });

  it('raises one alert per true condition, with its outbox event, then stays quiet for the suppression window', async () => {
    // 4 of 10 requests failed in the last hour (40 % > 10 %), one batch failed, one is stuck and slow.
    const failedBatch = await seedBatch(bed.pool, {
      name: 'failed',
      ageMinutes: 20,
      model: 'gpt-4o-mini',
      state: 'failed',
      results: [ok(1, 1), ok(1, 1), ok(1, 1), failed('batch_expired'), failed('batch_expired')],
    });
    await seedBatch(bed.pool, {
      name: 'mostly fine',
      ageMinutes: 10,
      model: 'gpt-4o-mini',
      state: 'completed',
      results: [ok(1, 1), ok(1, 1), ok(1, 1), failed('invalid_content'), failed('invalid_content')],
    });
    const stuck = await seedBatch(bed.pool, {
      name: 'stuck',
      ageMinutes: 120,
      model: 'gpt-4o-mini',
      state: 'processing',
      results: [],
    });
    await bed.pool.query(
      `UPDATE batch_jobs_vp_logs SET next_poll_at = now() - interval '45 minutes' WHERE id = $1`,
      [stuck],
    );

    const raised = await evaluateAlerts(bed.deps());
    expect(raised.map((a) => [a.condition, a.value, a.threshold, a.batchLogIds]).sort()).toEqual(
      [
        ['batch_failures', 1, 1, [failedBatch]],
        ['high_error_rate', 40, 10, []],
        ['long_processing_time', expect.any(Number), 3_600_000, [stuck]],
        ['stuck_batches', 1, 1_800_000, [stuck]],
      ].sort(),
    );
    const outbox = await bed.pool.query(
      `SELECT msg_id, payload FROM outbox WHERE subject = 'alert.raised' ORDER BY id`,
    );
    expect(outbox.rows).toHaveLength(4);
    for (const row of outbox.rows) {
      const event = AlertRaisedEvent.parse(row.payload);
      expect(row.msg_id).toBe(`alert:${event.alertId}`);
      expect(event.channels).toEqual(['slack']);
      expect(Date.parse(event.suppressedUntil) - Date.parse(event.raisedAt)).toBe(3_600_000);
    }

    expect(await evaluateAlerts(bed.deps())).toEqual([]);
    // Once the window has passed, a condition still true alerts again — once.
    await bed.pool.query(
      `UPDATE alert_state SET last_raised_at = now() - interval '61 minutes' WHERE condition = 'stuck_batches'`,
    );
    const again = await Promise.all([evaluateAlerts(bed.deps()), evaluateAlerts(bed.deps())]);
    expect(again.flat().map((a) => a.condition)).toEqual(['stuck_batches']);

    const recent = (await bed.app.inject({ url: ALERTS, headers: asOperator })).json().data.recent;
    expect(recent).toHaveLength(5);
    expect(recent[0]).toMatchObject({ condition: 'stuck_batches', severity: 'high' });
  });

  it('publishes raised alerts on alert.raised through the outbox relay, on a schedule', async () => {
    const namespace = testNamespace('alerts');
    const naming = busNaming(namespace);
    const bus = await connectBus({
      servers: [testNatsUrl()],
      name: 'monitor-alerts-test',
      namespace,
      log: silentLogger,
    });
    const nc = await connect({ servers: testNatsUrl() });
    try {
      await bus.ensureTopology();
      await seedBatch(bed.pool, {
        name: 'failed',
        ageMinutes: 5,
        model: 'gpt-4o-mini',
        state: 'failed',
        results: [failed('x')],
      });
      const relay = startOutboxRelay({ pool: bed.pool, publisher: bus, log: silentLogger, intervalMs: 100 });
      const evaluator = startAlertEvaluator({ ...bed.deps(), intervalMs: 50, onRaised: () => relay.kick() });
      const jsm = await jetstreamManager(nc);
      const stream = naming.stream('ALERTS');
      // One failed request of one (100 % > 10 %) and one failed batch: two conditions, two events.
      await waitFor(
        'two alerts on the ALERTS stream',
        async () => (await jsm.streams.info(stream)).state.messages >= 2,
        {
          timeoutMs: 15_000,
        },
      );
      await evaluator.stop();
      await relay.stop();
      const messages = [
        await jsm.streams.getMessage(stream, { seq: 1 }),
        await jsm.streams.getMessage(stream, { seq: 2 }),
      ];
      const events = messages.map((stored) => {
        const message = stored!;
        expect(message.subject).toBe(naming.subject(Subjects.alertRaised));
        const event = decodeEvent(Subjects.alertRaised, message.data);
        expect(message.header?.get('Nats-Msg-Id')).toBe(`alert:${event.alertId}`);
        return event;
      });
      expect(events.map((event) => [event.condition, event.severity, event.value]).sort()).toEqual([
        ['batch_failures', 'critical', 1],
        ['high_error_rate', 'high', 100],
      ]);
      expect((await jsm.streams.info(stream)).state.messages).toBe(2);
    } finally {
      await bus.deleteTopology();
      await bus.drain();
      await nc.close();
    }
  });
});
