import { formatDuration } from '@batchline/config';
import { type Pool, withTransaction } from '@batchline/db';
import type { AlertCondition } from '@batchline/events';
import { type AlertRule, alertDueAt } from './alert-cadence.ts';
import { sendDueDigests } from './alert-digests.ts';
import { ALERT_SEVERITY, type AlertEvaluationDeps, enqueueAlertRaised } from './alert-events.ts';
import { percent, rate } from './figures.ts';
import { listAlertRules } from './store/alert-rules.ts';
import {
  type AlertConfig,
  type AlertMeasurements,
  claimAlertWindow,
  getAlertConfig,
  insertAlert,
  measureAlertConditions,
  type RaisedAlert,
} from './store/alerts.ts';

/** A condition found true, before suppression decides whether it is announced. */
export interface TriggeredCondition {
  condition: AlertCondition;
  value: number;
  threshold: number;
  batchLogIds: number[];
  message: string;
}

const HOUR_MS = 3_600_000;

/**
 * Which rules' conditions hold, given the measurements over the evaluation window (the formulas are in
 * services/monitor/README.md). A rule whose threshold is null is off.
 */
export function triggeredConditions(config: AlertConfig, m: AlertMeasurements): TriggeredCondition[] {
  const window = formatDuration(config.evaluationWindowMs);
  const triggered: TriggeredCondition[] = [];
  const landed = m.succeededRequests + m.failedRequests;
  if (config.errorRatePercent !== null && landed > 0) {
    const errorRate = percent((m.failedRequests / landed) * 100);
    if (errorRate > config.errorRatePercent) {
      triggered.push({
        condition: 'high_error_rate',
        value: errorRate,
        threshold: config.errorRatePercent,
        batchLogIds: [],
        message: `Error rate ${errorRate}% over the last ${window} is above ${config.errorRatePercent}% (${m.failedRequests} of ${landed} requests failed)`,
      });
    }
  }
  if (config.processingTimeMs !== null && m.slowJobs > 0) {
    triggered.push({
      condition: 'long_processing_time',
      value: Math.round(m.longestProcessingMs),
      threshold: config.processingTimeMs,
      batchLogIds: m.slowJobIds,
      message: `${m.slowJobs} batch(es) took longer than ${formatDuration(config.processingTimeMs)} from submission to results (longest ${formatDuration(Math.round(m.longestProcessingMs / 1000) * 1000)})`,
    });
  }
  if (config.minJobsPerHour !== null && m.waitingJobs > 0) {
    const jobsPerHour = rate(m.finishedJobs / (config.evaluationWindowMs / HOUR_MS));
    if (jobsPerHour < config.minJobsPerHour) {
      triggered.push({
        condition: 'low_throughput',
        value: jobsPerHour,
        threshold: config.minJobsPerHour,
        batchLogIds: [],
        message: `Throughput ${jobsPerHour} jobs/hour over the last ${window} is below ${config.minJobsPerHour} while ${m.waitingJobs} batch(es) older than the window wait`,
      });
    }
  }
  if (config.stuckBatchMs !== null && m.stuckJobs > 0) {
    triggered.push({
      condition: 'stuck_batches',
      value: m.stuckJobs,
      threshold: config.stuckBatchMs,
      batchLogIds: m.stuckJobIds,
      message: `${m.stuckJobs} pending batch(es) stuck for over ${formatDuration(config.stuckBatchMs)}: status check overdue, or results not landing`,
    });
  }
  if (config.failedBatches !== null && m.failedJobs >= config.failedBatches) {
    triggered.push({
      condition: 'batch_failures',
      value: m.failedJobs,
      threshold: config.failedBatches,
      batchLogIds: m.failedJobIds,
      message: `${m.failedJobs} batch(es) failed in the last ${window}`,
    });
  }
  return triggered;
}

const scopeKey = (rule: Pick<AlertRule, 'jobType' | 'provider'>) =>
  `${rule.jobType ?? ''}\u0000${rule.provider ?? ''}`;

/** What a rule watches, as words in front of its message ("" when it watches everything). */
const scopeText = (rule: AlertRule): string => {
  const parts = [rule.jobType && `job type ${rule.jobType}`, rule.provider && `provider ${rule.provider}`];
  const named = parts.filter(Boolean);
  return named.length === 0 ? '' : `[${named.join(', ')}] `;
};

/**
 * The conditions that hold, each measured over its rule's scope (one measurement per distinct scope of job type
 * and provider).
 */
async function triggeredByRule(pool: Pool, config: AlertConfig, rules: readonly AlertRule[]) {
  const triggered: { found: TriggeredCondition; rule: AlertRule }[] = [];
  const scopes = new Map(rules.map((rule) => [scopeKey(rule), rule]));
  for (const [key, scope] of scopes) {
    const measurements = await measureAlertConditions(pool, {
      windowMs: config.evaluationWindowMs,
      processingTimeMs: config.processingTimeMs,
      stuckBatchMs: config.stuckBatchMs,
      jobType: scope.jobType,
      provider: scope.provider,
    });
    for (const found of triggeredConditions(config, measurements)) {
      const rule = rules.find((candidate) => candidate.condition === found.condition);
      if (rule && scopeKey(rule) === key) {
        triggered.push({ found: { ...found, message: `${scopeText(rule)}${found.message}` }, rule });
      }
    }
  }
  return triggered;
}

/**
 * Measures the conditions and raises an alert for each one that holds and whose suppression window has run
 * out: the window claim, the alert row and (unless its rule's cadence or quiet hours hold it for a digest) its
 * `alert.raised` outbox event commit together, so each condition yields at most one alert per window even with
 * several monitors. Held alerts go out with their digest (alert-digests.ts).
 */
export async function evaluateAlerts({ pool, metrics }: AlertEvaluationDeps): Promise<RaisedAlert[]> {
  const config = await getAlertConfig(pool);
  const rules = await listAlertRules(pool);
  const raised: RaisedAlert[] = [];
  for (const { found, rule } of await triggeredByRule(pool, config, rules)) {
    const alert = await withTransaction(pool, async (client) => {
      if (!(await claimAlertWindow(client, found.condition, config.suppressionMs))) return null;
      const { rows } = await client.query<{ now: Date }>('SELECT now()');
      const dueAt = alertDueAt(rule, rows[0]!.now);
      const row = await insertAlert(client, {
        ...found,
        severity: ALERT_SEVERITY[found.condition],
        channels: config.channels,
        windowMs: config.evaluationWindowMs,
        dueAt,
      });
      if (dueAt === null) await enqueueAlertRaised(client, row, config.suppressionMs);
      return row;
    });
    if (alert) {
      metrics.alertsRaised.inc({ condition: alert.condition });
      raised.push(alert);
    }
  }
  return raised;
}

export interface AlertEvaluator {
  stop(): Promise<void>;
}

/**
 * Evaluates the alert rules and sends the digests that are due every `intervalMs` until stopped; `onRaised` runs
 * after alerts were enqueued.
 */
export function startAlertEvaluator(
  deps: AlertEvaluationDeps & { intervalMs: number; onRaised: (alerts: RaisedAlert[]) => void },
): AlertEvaluator {
  let timer: NodeJS.Timeout | null = null;
  let round: Promise<void> = Promise.resolve();
  let stopped = false;
  const run = () => {
    round = evaluateAlerts(deps)
      .then(async (alerts) => [...alerts, ...(await sendDueDigests(deps))])
      .then(
        (alerts) => {
          if (alerts.length > 0) {
            deps.log.warn(
              { alerts: alerts.map((a) => ({ id: a.id, condition: a.condition })) },
              'alerts raised',
            );
            deps.onRaised(alerts);
          }
        },
        (error: unknown) => deps.log.error({ err: error }, 'alert evaluation failed'),
      );
    void round.then(() => {
      if (!stopped) timer = setTimeout(run, deps.intervalMs);
    });
  };
  timer = setTimeout(run, deps.intervalMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await round;
    },
  };
}
