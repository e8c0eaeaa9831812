import type { Pool } from '@batchline/db';
import { opsErrorEvent } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import { outsideTraces } from '@batchline/telemetry';
import type { CrashPoints } from '../crash-point.ts';
import {
  type ClaimedDelivery,
  claimDueDeliveries,
  markAttemptFailed,
  markDelivered,
} from '../store/webhook-deliveries.ts';
import {
  type AttemptOutcome,
  isLastAttempt,
  outcomeOfError,
  outcomeOfStatus,
  retryDelayMs,
} from './delivery-plan.ts';
import type { WebhookEndpoint, WebhookEndpoints } from './endpoints.ts';
import { webhookHeaders } from './signature.ts';

export interface WebhookDelivererOptions {
  pool: Pool;
  endpoints: WebhookEndpoints;
  instanceId: string;
  log: Logger;
  crash: CrashPoints;
  timeoutMs: number;
  /** Pause after the first failed attempt; it doubles after each next one. */
  backoffMs: number;
  maxAttempts: number;
  /** An `ops.error` was written to the outbox: publish it now. */
  announced(): void;
}

/** Deliveries one deliverer attempts at once (each a different event or endpoint). */
const CLAIM_LIMIT = 8;
/** How long a claim outlives the POST's timeout: room for recording the answer. */
const LEASE_MARGIN_MS = 10_000;
/** How often an idle deliverer looks for due retries when nothing wakes it. */
const IDLE_POLL_MS = 1_000;

/**
 * POSTs due webhook deliveries, signed, and records each answer: 2xx delivered; anything else retried after a
 * doubling pause until the last attempt, which fails the delivery and announces it (`ops.error` kind `webhook`).
 */
export class WebhookDeliverer {
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;

  constructor(private readonly options: WebhookDelivererOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { pool, instanceId, timeoutMs, log } = this.options;
    const idleMs = Math.min(IDLE_POLL_MS, this.options.backoffMs);
    while (this.running) {
      this.woken = false;
      let claimed: ClaimedDelivery[] = [];
      try {
        claimed = await claimDueDeliveries(pool, {
          owner: instanceId,
          leaseMs: timeoutMs + LEASE_MARGIN_MS,
          limit: CLAIM_LIMIT,
        });
        await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
      } catch (error) {
        log.warn({ err: error }, 'webhook deliveries: claiming or recording failed; trying again');
      }
      if (claimed.length === 0 && this.running && !this.woken) await this.sleep(idleMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const endpoint = this.options.endpoints.named(delivery.endpoint);
    const outcome: AttemptOutcome = endpoint
      ? await this.post(endpoint, delivery)
      : { kind: 'failed', status: null, error: `endpoint ${delivery.endpoint} is no longer configured` };
    const where = { eventId: delivery.eventId, endpoint: delivery.endpoint, attempt: delivery.attempts };
    if (outcome.kind === 'delivered') {
      this.options.crash.reach('notifier.after_webhook_2xx_before_mark');
      const marked = await markDelivered(this.options.pool, {
        id: delivery.id,
        owner: this.options.instanceId,
        status: outcome.status,
      });
      this.options.log.info({ ...where, status: outcome.status, marked }, 'webhook delivered');
      return;
    }
    await this.recordFailure(delivery, outcome, where);
  }

  private async recordFailure(
    delivery: ClaimedDelivery,
    outcome: Extract<AttemptOutcome, { kind: 'failed' }>,
    where: Record<string, unknown>,
  ): Promise<void> {
    const { pool, instanceId, maxAttempts, backoffMs, log } = this.options;
    const last = isLastAttempt(delivery.attempts, maxAttempts);
    const giveUp = last
      ? opsErrorEvent({
          service: 'notifier',
          kind: 'webhook',
          severity: 'high',
          message: `Webhook ${delivery.endpoint} did not take ${delivery.eventId} in ${delivery.attempts} attempts; the delivery is marked failed.`,
          provider: null,
          detail: outcome.error,
          occurrenceKey: `${delivery.endpoint}:${delivery.eventId}`,
        })
      : null;
    await markAttemptFailed(pool, {
      id: delivery.id,
      owner: instanceId,
      status: outcome.status,
      error: outcome.error,
      retryInMs: last ? null : retryDelayMs(delivery.attempts, backoffMs),
      giveUp,
    });
    if (last) {
      log.warn({ ...where, error: outcome.error }, 'webhook delivery failed for good');
      this.options.announced();
    } else log.info({ ...where, error: outcome.error }, 'webhook attempt failed; retrying later');
  }

  /**
   * One signed POST with a timeout over the whole exchange. Outside any trace: an HTTP client span would carry
   * the URL, which may hold a credential.
   */
  private post(endpoint: WebhookEndpoint, delivery: ClaimedDelivery): Promise<AttemptOutcome> {
    return outsideTraces(async () => {
      const signed = { id: delivery.eventId, timestamp: Math.floor(Date.now() / 1000), body: delivery.body };
      try {
        const response = await fetch(endpoint.url, {
          method: 'POST',
          headers: webhookHeaders(endpoint.secret, signed),
          body: delivery.body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        await response.arrayBuffer();
        return outcomeOfStatus(response.status);
      } catch (error) {
        return outcomeOfError(error);
      }
    });
  }
}
