import { type Pool, withTransaction } from '@batchline/db';
import type { AlertCondition } from '@batchline/events';
import type { FastifyInstance } from 'fastify';
import { requireOperator } from '../admin-guard.ts';
import { type AlertRule, parseMinute } from '../alert-cadence.ts';
import type { AlertRulesData, AlertsData, Success } from '../api-schema.ts';
import { alertRulesView, alertView } from '../api-views.ts';
import type { MonitorMetrics } from '../metrics.ts';
import { audit, auditRead, type RequestContext } from '../request-context.ts';
import { listAlertRules, updateAlertRule } from '../store/alert-rules.ts';
import {
  type AlertConfig,
  type AlertConfigChange,
  getAlertConfig,
  listRecentAlerts,
  updateAlertConfig,
} from '../store/alerts.ts';
import { AlertSettingsSchema, EmptyBodySchema, parseBody, parseQuery } from '../validation.ts';

export interface AlertRoutesOptions {
  pool: Pool;
  metrics: MonitorMetrics;
}

/** How many raised alerts `GET /alerts` lists. */
const RECENT_ALERTS = 20;

/** Changes the alert rules as `body` asks, with its audit record in the same transaction. */
async function updateAlertRules(
  pool: Pool,
  context: RequestContext,
  body: unknown,
): Promise<{ config: AlertConfig; rules: AlertRule[] }> {
  const settings = parseBody(AlertSettingsSchema, body);
  const change: AlertConfigChange = {
    errorRatePercent: settings.errorRateThreshold,
    processingTimeMs: settings.processingTimeThreshold,
    minJobsPerHour: settings.throughputThreshold,
    stuckBatchMs: settings.stuckBatchThreshold,
    failedBatches: settings.batchFailureThreshold,
    channels: settings.notificationChannels,
    suppressionMs: settings.alertSuppression,
    evaluationWindowMs: settings.evaluationWindow,
  };
  const updated = await withTransaction(pool, async (client) => {
    const updated = await updateAlertConfig(client, change, context.principal!.actor);
    for (const [condition, delivery] of Object.entries(settings.perRule ?? {})) {
      if (!delivery) continue;
      const { quietHours, ...rest } = delivery;
      await updateAlertRule(client, condition as AlertCondition, {
        ...rest,
        quietHours:
          quietHours === undefined
            ? undefined
            : quietHours === null
              ? null
              : {
                  startMinute: parseMinute(quietHours.start)!,
                  endMinute: parseMinute(quietHours.end)!,
                  timeZone: quietHours.timeZone ?? 'UTC',
                },
      });
    }
    await audit(client, context, {
      action: 'alerts.update',
      target: 'alerts',
      outcome: 'success',
      statusCode: 200,
      details: settings,
    });
    return { config: updated, rules: await listAlertRules(client) };
  });
  context.audited = true;
  return updated;
}

/** `GET /alerts` (the rules and the latest alerts) and `POST /alerts` (change the rules; operators only). */
export async function alertRoutes(
  app: FastifyInstance,
  { pool, metrics }: AlertRoutesOptions,
): Promise<void> {
  app.get('/alerts', { config: { action: 'alerts.read' } }, async (request): Promise<Success<AlertsData>> => {
    parseQuery(EmptyBodySchema, request.query);
    const [config, rules, recent] = [
      await getAlertConfig(pool),
      await listAlertRules(pool),
      await listRecentAlerts(pool, RECENT_ALERTS),
    ];
    await auditRead(pool, request.monitorContext!, 'alerts.read', {});
    return { success: true, data: { rules: alertRulesView(config, rules), recent: recent.map(alertView) } };
  });

  app.post(
    '/alerts',
    { config: { action: 'alerts.update' } },
    async (request): Promise<Success<AlertRulesData>> => {
      const context = request.monitorContext!;
      requireOperator(context);
      const { config, rules } = await updateAlertRules(pool, context, request.body);
      metrics.actions.inc({ action: 'alerts', outcome: 'success' });
      return { success: true, data: { rules: alertRulesView(config, rules) } };
    },
  );
}
