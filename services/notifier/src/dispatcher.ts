import type { Pool } from '@batchline/db';
import { type Logger, redactSecretsIn } from '@batchline/logging';
import type { Counter } from '@batchline/metrics';
import {
  batchAttributes,
  contextFromHeaders,
  outsideTraces,
  spanContextFromHeaders,
  withSpan,
} from '@batchline/telemetry';
import { type Link, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { CrashPoints } from './crash-point.ts';
import { markPossibleRepeat, type SlackMessage } from './messages/slack-message.ts';
import { slackSendOutcome } from './metrics.ts';
import type { Delivery } from './routing.ts';
import { type ClaimedNotification, claimNextNotification, type DispatchClaim } from './store/claim.ts';
import { type Completion, completeNotification, type DispatchOutcome } from './store/complete.ts';
import type { DigestPolicy } from './store/digest.ts';
import type { NotificationRoute } from './store/notification.ts';

/** How often an idle dispatcher looks for messages recorded by other replicas (its own wake it at once). */
const IDLE_POLL_MS = 500;
/** A dispatcher waiting for the webhook looks again at least this often (the holder may finish early). */
const MAX_WAIT_SLICE_MS = 1_000;
/** Random extra wait, so that replicas waiting for the same slot do not always line up in the same order. */
const WAIT_JITTER_MS = 50;
/** Pause after a database error before trying again. */
const DATABASE_RETRY_MS = 1_000;
/** Attempts to record an outcome; after them the claim runs out and the message is retried, flagged. */
const RECORD_ATTEMPTS = 5;
/** Margin of a claim beyond the POST timeout and the pacing interval. */
const HOLD_MARGIN_MS = 2_000;
/** A failing webhook is reported as an error on its first failure and then every this many. */
const OUTAGE_REPORT_EVERY = 10;

export interface DispatcherOptions {
  pool: Pool;
  delivery: Delivery;
  instanceId: string;
  log: Logger;
  /** Pause of the webhook after the n-th consecutive failure: `retryScheduleMs[n-1]`, the last repeating. */
  retryScheduleMs: readonly number[];
  digest: DigestPolicy | null;
  crash: CrashPoints;
  /** Counts post attempts by outcome, when the caller serves metrics (the notifier service does). */
  sends?: Counter<'outcome'>;
  /** Tells operators, through another route, that Slack refused a message for good. */
  reportRefusal(refusal: {
    route: NotificationRoute;
    code: string;
    message: ClaimedNotification;
  }): Promise<void>;
}

/**
 * Sends the due messages of one destination, one at a time, whenever the destination's shared bucket allows:
 * every replica runs one per destination and they take turns through the pacing row. A stopped dispatcher
 * finishes the attempt in flight; whatever is still due waits in Postgres for the next dispatcher.
 */
export class Dispatcher {
  private readonly log: Logger;
  private readonly stopSignal = new AbortController();
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> = Promise.resolve();
  private failingSince: Date | null = null;

  constructor(private readonly options: DispatcherOptions) {
    this.log = options.log.child({ component: 'dispatcher', destination: options.delivery.sink.label });
  }

  get routes(): readonly NotificationRoute[] {
    return this.options.delivery.routes;
  }

  start(): this {
    this.loop = this.run();
    return this;
  }

  /** Something was recorded for this destination: look now instead of at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopSignal.abort();
    await this.loop;
  }

  private get stopping(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private get holdMs(): number {
    const { sink } = this.options.delivery;
    return sink.timeoutMs + sink.minIntervalMs + HOLD_MARGIN_MS;
  }

  private backoffMs = (consecutiveFailures: number): number => {
    const schedule = this.options.retryScheduleMs;
    return schedule[Math.min(Math.max(consecutiveFailures, 1), schedule.length) - 1] ?? 0;
  };

  private async run(): Promise<void> {
    const { pool, delivery, instanceId, digest } = this.options;
    while (!this.stopping) {
      let claim: DispatchClaim;
      try {
        claim = await claimNextNotification(pool, {
          webhookKey: delivery.sink.key,
          routes: delivery.routes,
          instanceId,
          holdMs: this.holdMs,
          digest,
        });
      } catch (err) {
        this.log.warn({ err }, 'cannot look for due messages; trying again');
        await this.pause(DATABASE_RETRY_MS, false);
        continue;
      }
      if (claim.kind === 'idle') await this.pause(IDLE_POLL_MS, true);
      else if (claim.kind === 'wait') {
        await this.pause(Math.min(claim.waitMs, MAX_WAIT_SLICE_MS) + Math.random() * WAIT_JITTER_MS, false);
      } else await this.attempt(claim.notification);
    }
  }

  private async attempt(notification: ClaimedNotification): Promise<void> {
    const where = {
      eventKey: notification.eventKey,
      kind: notification.kind,
      attempt: notification.attempts,
    };
    const message = { text: notification.text, blocks: notification.blocks as Record<string, unknown>[] };
    if (notification.possibleRepeat) {
      this.log.warn(
        where,
        'posting again a message whose earlier attempt may have reached Slack; it says so',
      );
    }
    const outcome = await this.post(
      notification,
      notification.possibleRepeat ? markPossibleRepeat(message) : message,
    );
    this.options.sends?.inc({ outcome: slackSendOutcome(outcome) });
    if (outcome.kind === 'delivered') this.options.crash.reach('notifier.after_slack_200_before_mark');
    const completion = await this.record(notification, outcome);
    if (!completion) return;
    if (!completion.recorded) {
      this.log.warn(where, 'this attempt outlived its claim; another dispatcher has the message');
      return;
    }
    this.report(notification, outcome, completion);
  }

  /**
   * Posts in a CLIENT span `slack post` that continues the trace recorded with the message (its event's consumer
   * span); a digest's post starts its own trace, linked to every entry's. The POST itself runs outside traces:
   * an HTTP client span would record the webhook URL (a secret) and send our trace context to Slack.
   */
  private post(notification: ClaimedNotification, message: SlackMessage): Promise<DispatchOutcome> {
    const { sink } = this.options.delivery;
    const links: Link[] = notification.bundled.flatMap((entry) => {
      const entryContext = spanContextFromHeaders(entry.traceHeaders);
      return entryContext ? [{ context: entryContext }] : [];
    });
    const bundledBatchLogIds = notification.bundled.flatMap((entry) =>
      entry.batchLogId === null ? [] : [entry.batchLogId],
    );
    return withSpan(
      'slack post',
      {
        kind: SpanKind.CLIENT,
        links,
        attributes: {
          'batchline.notification.kind': notification.kind,
          'batchline.notification.route': notification.route,
          'batchline.notification.destination': sink.label,
          'batchline.notification.attempt': notification.attempts,
          'batchline.notification.possible_repeat': notification.possibleRepeat,
          ...batchAttributes({ batchLogId: notification.batchLogId }),
          ...(bundledBatchLogIds.length > 0 ? { 'batchline.batch_log_ids': bundledBatchLogIds } : {}),
        },
      },
      async (span) => {
        const outcome = await outsideTraces(() => sink.post(message));
        span.setAttribute('batchline.notification.outcome', outcome.kind);
        if (outcome.kind !== 'delivered')
          span.setStatus({ code: SpanStatusCode.ERROR, message: redactSecretsIn(outcome.error) });
        return outcome;
      },
      contextFromHeaders(notification.traceHeaders),
    );
  }

  /** Records the outcome, retrying a failing database a few times; null when it could not. */
  private async record(
    notification: ClaimedNotification,
    outcome: DispatchOutcome,
  ): Promise<Completion | null> {
    const { pool, delivery, instanceId } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        return await completeNotification(pool, {
          webhookKey: delivery.sink.key,
          eventKey: notification.eventKey,
          instanceId,
          outcome,
          minIntervalMs: delivery.sink.minIntervalMs,
          backoffMs: this.backoffMs,
        });
      } catch (err) {
        if (attempt >= RECORD_ATTEMPTS) {
          this.log.error(
            { err, eventKey: notification.eventKey, outcome: outcome.kind },
            'cannot record how a post ended; the message will be retried when its claim runs out, marked as a possible repeat',
          );
          return null;
        }
        await new Promise((resolve) => setTimeout(resolve, DATABASE_RETRY_MS));
      }
    }
  }

  private report(notification: ClaimedNotification, outcome: DispatchOutcome, completion: Completion): void {
    const where = {
      eventKey: notification.eventKey,
      kind: notification.kind,
      route: notification.route,
      attempt: notification.attempts,
    };
    if (outcome.kind !== 'transient' && this.failingSince !== null) {
      this.log.info(
        { failingSince: this.failingSince },
        'slack answers again; sending what waited, in order',
      );
    }
    this.failingSince = completion.failingSince;
    switch (outcome.kind) {
      case 'delivered':
        // The log sink already wrote the message itself.
        if (outcome.via === 'slack')
          this.log.info({ ...where, slackMessage: notification.text }, 'slack message sent');
        return;
      case 'rate_limited':
        this.log.warn(
          { ...where, retryAfterMs: outcome.retryAfterMs },
          'slack rate limited the webhook; every replica waits for Retry-After',
        );
        return;
      case 'transient': {
        const failures = completion.consecutiveFailures;
        const details = { ...where, error: outcome.error, failures, failingSince: completion.failingSince };
        if (failures === 1 || failures % OUTAGE_REPORT_EVERY === 0) {
          this.log.error(
            details,
            'slack webhook failing; messages wait in Postgres and go out in order when it answers',
          );
        } else this.log.warn(details, 'slack webhook still failing; retrying with backoff');
        return;
      }
      case 'refused': {
        const { refusalRoute } = this.options.delivery;
        this.log.error(
          { ...where, code: outcome.code, error: outcome.error, reportedTo: refusalRoute ?? 'log' },
          'slack refused the message for good; not retrying',
        );
        if (refusalRoute) {
          this.options
            .reportRefusal({ route: refusalRoute, code: outcome.code, message: notification })
            .catch((err: unknown) => this.log.error({ err }, 'cannot record the refusal report'));
        }
      }
    }
  }

  /** Sleeps, until stopped (or woken, when `wakeable`). */
  private pause(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.stopSignal.signal.removeEventListener('abort', done);
        if (this.wakeUp === done) this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopSignal.signal.addEventListener('abort', done);
      if (wakeable) this.wakeUp = done;
    });
  }
}
