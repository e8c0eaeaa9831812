import type { Logger } from '@batchline/logging';

/**
 * Named points where a test can make the notifier die (`BATCHLINE_CRASHPOINT=<name>[:<nth>]`, see
 * docs/configuration.md), to hit exact windows instead of hoping a random kill lands in them.
 */
export type CrashPoint =
  /** The event's message is recorded in Postgres; its JetStream ack has not been sent. */
  | 'notifier.after_record_before_ack'
  /** Slack accepted a message (200); the notifier has not recorded that yet. */
  | 'notifier.after_slack_200_before_mark'
  /** A public event's webhook delivery is recorded in Postgres; its JetStream ack has not been sent. */
  | 'notifier.after_webhook_record_before_ack'
  /** A webhook endpoint answered 2xx; the notifier has not recorded the delivery yet. */
  | 'notifier.after_webhook_2xx_before_mark';

export interface CrashPoints {
  /** Kills this process with SIGKILL if this is the configured point, reached for the configured nth time. */
  reach(point: CrashPoint): void;
}

export function crashPoints(spec: string | undefined, log: Logger): CrashPoints {
  if (!spec) return { reach() {} };
  const [name, nth] = spec.split(':');
  const target = nth === undefined ? 1 : Number(nth);
  let reached = 0;
  return {
    reach(point) {
      if (point !== name) return;
      reached += 1;
      if (reached !== target) return;
      log.warn({ crashPoint: spec }, 'crash point reached; killing this process');
      process.kill(process.pid, 'SIGKILL');
    },
  };
}
