import { setTimeout as sleep } from 'node:timers/promises';
import { getBatchLog, type Pool } from '@batchline/db';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getBatchJobType } from '../src/store/batch-job-type.ts';
import { type ClaimedNotification, type ClaimOptions, claimNextNotification } from '../src/store/claim.ts';
import { completeNotification, type DispatchOutcome } from '../src/store/complete.ts';
import type { DigestPolicy } from '../src/store/digest.ts';
import { enqueueNotification, type NewNotification } from '../src/store/enqueue.ts';
import { getFinalBatchDetails } from '../src/store/final-batch-details.ts';
import { newBatch } from './batch-logs.ts';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

const message = (eventKey: string, overrides: Partial<NewNotification> = {}): NewNotification => ({
  eventKey,
  kind: 'batch_final',
  route: 'default',
  severity: 'low',
  occurredAt: at(0),
  batchLogId: null,
  announcesFinal: false,
  text: `text of ${eventKey}`,
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text: eventKey } }],
  ...overrides,
});

/** Distinct W3C trace context headers, one set per `n`. */
const traceHeadersOf = (n: number): Record<string, string> => ({
  traceparent: `00-${String(n + 1).padStart(32, '0')}-${String(n + 1).padStart(16, '0')}-01`,
  tracestate: `batchline=${n}`,
});

const digestOf = (threshold: number, windowMs = 60_000, maxEntries = 40): DigestPolicy => ({
  threshold,
  windowMs,
  maxEntries,
  compose: (entries) => ({
    text: `digest: ${entries.map((e) => e.eventKey).join(', ')}`,
    blocks: [],
  }),
});

describe('notification queue and shared webhook pacing', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;
  let webhookKey: string;
  let counter = 0;

  beforeAll(async () => {
    db = await migratedTestDatabase('notification_queue');
    pool = db.pool;
  });
  afterAll(async () => db?.close());
  beforeEach(async () => {
    counter += 1;
    webhookKey = `hook${counter}`;
    await pool.query(`DELETE FROM notifications`);
  });

  const claimOptions = (overrides: Partial<ClaimOptions> = {}): ClaimOptions => ({
    webhookKey,
    routes: ['default'],
    instanceId: 'replica-a',
    holdMs: 30_000,
    digest: null,
    ...overrides,
  });

  async function claim(overrides: Partial<ClaimOptions> = {}): Promise<ClaimedNotification> {
    const result = await claimNextNotification(pool, claimOptions(overrides));
    if (result.kind !== 'claimed') throw new Error(`expected a claim, got ${JSON.stringify(result)}`);
    return result.notification;
  }

  const complete = (
    eventKey: string,
    outcome: DispatchOutcome,
    { instanceId = 'replica-a', minIntervalMs = 0 }: { instanceId?: string; minIntervalMs?: number } = {},
  ) =>
    completeNotification(pool, {
      webhookKey,
      eventKey,
      instanceId,
      outcome,
      minIntervalMs,
      backoffMs: (failures) => failures * 10_000,
    });

  const stateOf = async (eventKey: string) =>
    (
      await pool.query(
        'SELECT state, attempts, claimed_by, error_code, last_error, digest_key, possible_repeat FROM notifications WHERE event_key = $1',
        [eventKey],
      )
    ).rows[0];

  it('records a message once per event, whatever a redelivery carries', async () => {
    expect(await enqueueNotification(pool, message('final:1'))).toBe(true);
    expect(await enqueueNotification(pool, message('final:1', { text: 'different' }))).toBe(false);
    const { rows } = await pool.query(`SELECT text, state FROM notifications WHERE event_key = 'final:1'`);
    expect(rows).toEqual([{ text: 'text of final:1', state: 'pending' }]);
  });

  it('hands out messages oldest occurrence first, one holder at a time, paced from the answer', async () => {
    expect(await claimNextNotification(pool, claimOptions())).toEqual({ kind: 'idle' });
    await enqueueNotification(pool, message('b', { occurredAt: at(2) }));
    await enqueueNotification(pool, message('a', { occurredAt: at(1) }));

    const first = await claim();
    expect(first).toMatchObject({ eventKey: 'a', attempts: 1, possibleRepeat: false });
    // The webhook is held while replica-a posts: replica-b waits, whatever is due.
    const other = await claimNextNotification(pool, claimOptions({ instanceId: 'replica-b' }));
    expect(other.kind).toBe('wait');

    expect(await complete('a', { kind: 'delivered', via: 'slack' }, { minIntervalMs: 60_000 })).toMatchObject(
      {
        recorded: true,
        consecutiveFailures: 0,
      },
    );
    expect(await stateOf('a')).toMatchObject({ state: 'sent', claimed_by: 'replica-a' });
    // The next slot is a full interval after the answer, for every replica.
    const paced = await claimNextNotification(pool, claimOptions({ instanceId: 'replica-b' }));
    expect(paced.kind).toBe('wait');
    expect(paced.kind === 'wait' && paced.waitMs).toBeGreaterThan(50_000);
    await pool.query(`UPDATE slack_webhook_pacing SET next_send_at = 'epoch' WHERE webhook_key = $1`, [
      webhookKey,
    ]);
    expect((await claim({ instanceId: 'replica-b' })).eventKey).toBe('b');
  });

  it('keeps each route to its own webhook', async () => {
    await enqueueNotification(pool, message('normal', { occurredAt: at(1) }));
    await enqueueNotification(
      pool,
      message('urgent', { route: 'critical', severity: 'critical', occurredAt: at(2) }),
    );
    expect((await claim({ routes: ['critical'], webhookKey: `${webhookKey}-critical` })).eventKey).toBe(
      'urgent',
    );
    expect((await claim()).eventKey).toBe('normal');
  });

  it('makes everyone wait out a 429 and backs off after failures; a possibly delivered post is flagged', async () => {
    await enqueueNotification(pool, message('m'));
    await claim();
    await complete('m', { kind: 'rate_limited', retryAfterMs: 30_000, error: 'slack answered 429' });
    expect(await stateOf('m')).toMatchObject({ state: 'pending', attempts: 1, claimed_by: null });
    const waiting = await claimNextNotification(pool, claimOptions({ instanceId: 'replica-b' }));
    expect(waiting.kind === 'wait' && waiting.waitMs).toBeGreaterThan(20_000);

    await pool.query(`UPDATE slack_webhook_pacing SET next_send_at = 'epoch' WHERE webhook_key = $1`, [
      webhookKey,
    ]);
    await claim();
    const first = await complete('m', {
      kind: 'transient',
      error: 'slack answered 503',
      possiblyDelivered: false,
    });
    expect(first).toMatchObject({ recorded: true, consecutiveFailures: 1 });
    expect(first.failingSince).toBeInstanceOf(Date);
    await pool.query(`UPDATE slack_webhook_pacing SET next_send_at = 'epoch' WHERE webhook_key = $1`, [
      webhookKey,
    ]);
    expect(await claim()).toMatchObject({ eventKey: 'm', attempts: 3, possibleRepeat: false });
    const second = await complete('m', {
      kind: 'transient',
      error: 'POST timed out',
      possiblyDelivered: true,
    });
    expect(second).toMatchObject({ consecutiveFailures: 2, failingSince: first.failingSince });
    const backoff = await claimNextNotification(pool, claimOptions());
    expect(backoff.kind === 'wait' && backoff.waitMs).toBeGreaterThan(10_000);

    await pool.query(`UPDATE slack_webhook_pacing SET next_send_at = 'epoch' WHERE webhook_key = $1`, [
      webhookKey,
    ]);
    expect(await claim()).toMatchObject({ eventKey: 'm', attempts: 4, possibleRepeat: true });
    expect(await complete('m', { kind: 'delivered', via: 'slack' })).toMatchObject({
      consecutiveFailures: 0,
      failingSince: null,
    });
  });

  it('hands out the trace context recorded with a message, and its batch', async () => {
    const id = await newBatch(pool);
    await enqueueNotification(pool, message('traced', { batchLogId: id, traceHeaders: traceHeadersOf(1) }));
    await enqueueNotification(pool, message('untraced', { occurredAt: at(1) }));
    expect(await claim()).toMatchObject({
      eventKey: 'traced',
      batchLogId: id,
      traceHeaders: traceHeadersOf(1),
      bundled: [],
    });
    await complete('traced', { kind: 'delivered', via: 'slack' });
    expect(await claim()).toMatchObject({ eventKey: 'untraced', batchLogId: null, traceHeaders: {} });
  });

  it('records a refusal for good, with secrets masked, and never hands the message out again', async () => {
    await enqueueNotification(pool, message('bad'));
    await claim();
    await complete('bad', {
      kind: 'refused',
      code: 'channel_not_found',
      error: 'slack answered 404 channel_not_found for https://hooks.slack.com/services/T0/B0/secret',
    });
    const row = await stateOf('bad');
    expect(row).toMatchObject({ state: 'failed', error_code: 'channel_not_found' });
    expect(row.last_error).toContain('channel_not_found');
    expect(row.last_error).not.toContain('secret');
    expect(await claimNextNotification(pool, claimOptions())).toEqual({ kind: 'idle' });
  });

  it('gives a message whose holder died to the next dispatcher, flagged; the late holder cannot record', async () => {
    await enqueueNotification(pool, message('m'));
    await claim({ holdMs: 1 });
    await sleep(20);
    expect(await claim({ instanceId: 'replica-b' })).toMatchObject({
      eventKey: 'm',
      attempts: 2,
      possibleRepeat: true,
    });
    expect((await complete('m', { kind: 'delivered', via: 'slack' })).recorded).toBe(false);
    expect(
      await complete('m', { kind: 'delivered', via: 'slack' }, { instanceId: 'replica-b' }),
    ).toMatchObject({
      recorded: true,
    });
    expect(await stateOf('m')).toMatchObject({ state: 'sent', claimed_by: 'replica-b' });
  });

  it('bundles more than the threshold of final-status messages due within the window into one digest', async () => {
    const batchIds = [await newBatch(pool), await newBatch(pool), await newBatch(pool), await newBatch(pool)];
    for (const [i, id] of batchIds.entries()) {
      await enqueueNotification(
        pool,
        message(`final:${id}`, {
          batchLogId: id,
          announcesFinal: true,
          occurredAt: at(i),
          severity: i === 2 ? 'high' : 'low',
          traceHeaders: traceHeadersOf(i),
        }),
      );
    }
    // Outside the window of the oldest; an alert; and a final message that may already have been posted.
    await enqueueNotification(pool, message('late', { announcesFinal: true, occurredAt: at(600) }));
    await enqueueNotification(pool, message('alert:1', { kind: 'alert', occurredAt: at(1.5) }));
    await enqueueNotification(pool, message('maybe-posted', { announcesFinal: true, occurredAt: at(2.5) }));
    await pool.query(`UPDATE notifications SET possible_repeat = true WHERE event_key = 'maybe-posted'`);

    const digest = await claim({ digest: digestOf(3) });
    const keys = batchIds.map((id) => `final:${id}`);
    expect(digest).toMatchObject({
      eventKey: `digest:${keys[0]}`,
      kind: 'digest',
      severity: 'high',
      text: `digest: ${keys.join(', ')}`,
      batchLogId: null,
      traceHeaders: {},
      // Every entry's batch and trace, oldest first: the post links to each trace.
      bundled: batchIds.map((id, i) => ({ batchLogId: id, traceHeaders: traceHeadersOf(i) })),
    });
    for (const key of keys)
      expect(await stateOf(key)).toMatchObject({ state: 'digested', digest_key: digest.eventKey });
    await complete(digest.eventKey, { kind: 'delivered', via: 'slack' });
    for (const id of batchIds) expect((await getBatchLog(pool, id))!.finalNotifiedAt).toBeInstanceOf(Date);

    // The rest go out alone, in order: not more than the threshold are left in any window.
    const rest: string[] = [];
    for (;;) {
      const next = await claimNextNotification(pool, claimOptions({ digest: digestOf(3) }));
      if (next.kind !== 'claimed') break;
      rest.push(next.notification.eventKey);
      await complete(next.notification.eventKey, { kind: 'delivered', via: 'slack' });
    }
    expect(rest).toEqual(['alert:1', 'maybe-posted', 'late']);
  });

  it('stamps final_notified_at when a final message is logged, and reads the batch details', async () => {
    const id = await newBatch(pool);
    await pool.query(
      `INSERT INTO batch_request_results (batch_log_id, custom_id, outcome, prompt_tokens, completion_tokens)
       VALUES ($1, 'a', 'succeeded', 100, 7), ($1, 'b', 'failed', 50, NULL)`,
      [id],
    );
    await pool.query(`UPDATE batch_jobs_vp_logs SET log_details = $2 WHERE id = $1`, [
      id,
      JSON.stringify({
        providerErrors: [{ code: 'invalid_file', message: 'line 3 is not JSON', line: 3 }],
        missingResults: 4,
        downloadError: null,
      }),
    ]);
    expect(await getFinalBatchDetails(pool, id)).toEqual({
      jobType: 'specific_viewpoint',
      model: 'gpt-test',
      promptTokens: 150,
      completionTokens: 7,
      cachedPromptTokens: 0,
      providerErrors: [{ code: 'invalid_file', message: 'line 3 is not JSON', line: 3 }],
      missingResults: 4,
      downloadError: null,
      inputUnavailable: null,
    });
    expect(await getFinalBatchDetails(pool, 999_999)).toBeNull();
    const sentiment = await newBatch(pool, 'review_sentiment');
    expect(await getFinalBatchDetails(pool, sentiment)).toMatchObject({
      jobType: 'review_sentiment',
      promptTokens: 0,
    });
    expect(await getBatchJobType(pool, sentiment)).toBe('review_sentiment');
    expect(await getBatchJobType(pool, id)).toBe('specific_viewpoint');
    expect(await getBatchJobType(pool, 999_999)).toBeNull();

    await enqueueNotification(
      pool,
      message(`final:${id}`, { batchLogId: id, announcesFinal: true, route: 'log' }),
    );
    await claim({ routes: ['log'] });
    await complete(`final:${id}`, { kind: 'delivered', via: 'log' });
    expect(await stateOf(`final:${id}`)).toMatchObject({ state: 'logged' });
    expect((await getBatchLog(pool, id))!.finalNotifiedAt).toBeInstanceOf(Date);
  });
});
