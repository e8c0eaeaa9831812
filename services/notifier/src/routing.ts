import type { Severity } from '@batchline/domain';
import type { Logger } from '@batchline/logging';
import { logSink, type SlackSink, webhookSink } from './slack-sink.ts';
import type { NotificationRoute } from './store/notification.ts';

/** Severity decides the webhook: critical messages go to the critical route, everything else to the default. */
export const routeForSeverity = (severity: Severity): NotificationRoute =>
  severity === 'critical' ? 'critical' : 'default';

/** One destination and the routes whose messages it carries. */
export interface Delivery {
  sink: SlackSink;
  routes: NotificationRoute[];
  /** Where to report that this destination refused a message for good: another webhook's route, or null (log). */
  refusalRoute: NotificationRoute | null;
}

export interface WebhookSettings {
  defaultUrl: string | undefined;
  criticalUrl: string | undefined;
  timeoutMs: number;
  log: Logger;
}

/**
 * Maps the routes to destinations: `default` to SLACK_WEBHOOK_URL (or the log), `critical` to
 * SLACK_CRITICAL_WEBHOOK_URL (or wherever `default` goes), `log` to the log. Routes that end at the same URL
 * share one destination, and so one pacing bucket.
 */
export function planDeliveries({ defaultUrl, criticalUrl, timeoutMs, log }: WebhookSettings): Delivery[] {
  const logged = logSink(log);
  const defaultSink = defaultUrl
    ? webhookSink({ url: defaultUrl, label: 'default webhook', timeoutMs })
    : null;
  const criticalSink =
    criticalUrl && criticalUrl !== defaultUrl
      ? webhookSink({ url: criticalUrl, label: 'critical webhook', timeoutMs })
      : null;
  const destination: Record<NotificationRoute, SlackSink> = {
    default: defaultSink ?? logged,
    critical: criticalSink ?? defaultSink ?? logged,
    log: logged,
  };
  const routes = Object.keys(destination) as NotificationRoute[];
  return [...new Set(Object.values(destination))].map((sink) => ({
    sink,
    routes: routes.filter((route) => destination[route] === sink),
    refusalRoute:
      sink === logged
        ? null
        : (routes.find((route) => destination[route] !== sink && destination[route] !== logged) ?? null),
  }));
}
