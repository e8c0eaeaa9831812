import { type FormEvent, useCallback, useEffect, useState } from 'react';
import type { Notice } from '../App.tsx';
import type { AdminApi, AlertRuleDelivery, AlertRules, AlertsData } from '../api.ts';
import { formatTime } from '../format.ts';
import { RuleDeliveryForm } from './RuleDeliveryForm.tsx';

const MINUTE_MS = 60_000;

/** The editable rules as form text: thresholds in their unit, durations in minutes; empty turns a rule off. */
interface RuleForm {
  errorRate: string;
  processingMinutes: string;
  throughput: string;
  stuckMinutes: string;
  failedBatches: string;
  slack: boolean;
  log: boolean;
  suppressionMinutes: string;
  windowMinutes: string;
}

const text = (value: number | null, divisor = 1) => (value === null ? '' : String(value / divisor));

const toForm = (rules: AlertRules): RuleForm => ({
  errorRate: text(rules.errorRateThreshold),
  processingMinutes: text(rules.processingTimeThreshold, MINUTE_MS),
  throughput: text(rules.throughputThreshold),
  stuckMinutes: text(rules.stuckBatchThreshold, MINUTE_MS),
  failedBatches: text(rules.batchFailureThreshold),
  slack: rules.notificationChannels.includes('slack'),
  log: rules.notificationChannels.includes('log'),
  suppressionMinutes: text(rules.alertSuppression, MINUTE_MS),
  windowMinutes: text(rules.evaluationWindow, MINUTE_MS),
});

const numberOrNull = (value: string, multiplier = 1) =>
  value.trim() === '' ? null : Math.round(Number(value) * multiplier * 1000) / 1000;

function fromForm(form: RuleForm) {
  return {
    errorRateThreshold: numberOrNull(form.errorRate),
    processingTimeThreshold: numberOrNull(form.processingMinutes, MINUTE_MS),
    throughputThreshold: numberOrNull(form.throughput),
    stuckBatchThreshold: numberOrNull(form.stuckMinutes, MINUTE_MS),
    batchFailureThreshold: numberOrNull(form.failedBatches),
    notificationChannels: [...(form.slack ? ['slack' as const] : []), ...(form.log ? ['log' as const] : [])],
    alertSuppression: Number(form.suppressionMinutes) * MINUTE_MS,
    evaluationWindow: Number(form.windowMinutes) * MINUTE_MS,
  };
}

const FIELDS: { key: keyof RuleForm; label: string; unit: string }[] = [
  { key: 'errorRate', label: 'Error rate above', unit: '%' },
  { key: 'processingMinutes', label: 'Processing time over', unit: 'min' },
  { key: 'throughput', label: 'Throughput below', unit: 'jobs/h' },
  { key: 'stuckMinutes', label: 'Batch stuck for', unit: 'min' },
  { key: 'failedBatches', label: 'Failed batches at least', unit: 'batches' },
  { key: 'suppressionMinutes', label: 'One alert per condition every', unit: 'min' },
  { key: 'windowMinutes', label: 'Measured over the last', unit: 'min' },
];

/** A rule's cadence, quiet hours (in their time zone) and scope, in words. */
function deliveryText(delivery: AlertRuleDelivery): string {
  const parts = [delivery.cadence === 'immediate' ? 'at once' : `${delivery.cadence} digest`];
  if (delivery.quietHours)
    parts.push(
      `quiet ${delivery.quietHours.start}–${delivery.quietHours.end} ${delivery.quietHours.timeZone}`,
    );
  if (delivery.jobType) parts.push(`job type ${delivery.jobType}`);
  if (delivery.provider) parts.push(`provider ${delivery.provider}`);
  return parts.join(' · ');
}

export function AlertsPanel({
  api,
  guarded,
  onNotice,
}: {
  api: AdminApi;
  guarded: <T>(run: () => Promise<T>, onError: (message: string) => void) => Promise<T | null>;
  onNotice: (notice: Notice) => void;
}) {
  const [alerts, setAlerts] = useState<AlertsData | null>(null);
  const [form, setForm] = useState<RuleForm | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const loaded = await guarded(() => api.alerts(), setError);
    if (loaded) {
      setAlerts(loaded);
      setForm((current) => current ?? toForm(loaded.rules));
    }
  }, [api, guarded]);

  useEffect(() => {
    void load();
  }, [load]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!form) return;
    const saved = await guarded(() => api.updateAlerts(fromForm(form)), setError);
    if (saved) {
      setError(null);
      setForm(toForm(saved.rules));
      onNotice({ kind: 'success', text: 'Alert rules saved.' });
      void load();
    }
  };

  const saveDelivery = async (condition: string, delivery: AlertRuleDelivery) => {
    const saved = await guarded(() => api.updateAlerts({ perRule: { [condition]: delivery } }), setError);
    if (saved) {
      setError(null);
      onNotice({ kind: 'success', text: `Delivery of ${condition} saved.` });
      void load();
    }
  };

  return (
    <section className="card alerts" data-testid="alerts-panel">
      <h2>Alerts</h2>
      <div className="alerts-body">
        {form && (
          <form className="rules" onSubmit={save}>
            <p className="muted">Leave a threshold empty to turn its rule off.</p>
            {FIELDS.map((field) => (
              <div className="rule" key={field.key}>
                <label htmlFor={`rule-${field.key}`}>{field.label}</label>
                <input
                  id={`rule-${field.key}`}
                  inputMode="decimal"
                  value={form[field.key] as string}
                  onChange={(event) => setForm({ ...form, [field.key]: event.target.value })}
                />
                <span className="muted">{field.unit}</span>
              </div>
            ))}
            <div className="rule">
              <span>Channels</span>
              <label>
                <input
                  type="checkbox"
                  checked={form.slack}
                  onChange={(event) => setForm({ ...form, slack: event.target.checked })}
                />{' '}
                Slack
              </label>
              <label>
                <input
                  type="checkbox"
                  checked={form.log}
                  onChange={(event) => setForm({ ...form, log: event.target.checked })}
                />{' '}
                log
              </label>
            </div>
            {error && (
              <p className="field-error" role="alert">
                {error}
              </p>
            )}
            <button type="submit" className="primary">
              Save rules
            </button>
          </form>
        )}
        {alerts && <RuleDeliveryForm rules={alerts.rules} onSave={saveDelivery} />}
        <div className="recent">
          {alerts && (
            <>
              <h3>Delivery per rule</h3>
              <ul className="muted" data-testid="alert-delivery-rules">
                {Object.entries(alerts.rules.perRule).map(([condition, delivery]) => (
                  <li key={condition} data-testid={`alert-rule-${condition}`}>
                    {condition}: {deliveryText(delivery)}
                  </li>
                ))}
              </ul>
            </>
          )}
          <h3>Recent alerts</h3>
          {alerts && alerts.recent.length === 0 && <p className="muted">No alerts raised.</p>}
          <ul>
            {alerts?.recent.map((alert) => (
              <li key={alert.id} className={`alert alert-${alert.severity}`}>
                <span className="badge">{alert.severity}</span> {alert.message}
                <div className="muted" data-testid={`alert-delivery-${alert.id}`}>
                  {formatTime(alert.raisedAt)}
                  {alert.digestOf !== null ? ` · digest of ${alert.digestOf}` : ''}
                  {alert.dueAt !== null && alert.digestedIn === null
                    ? ` · held for the digest due ${formatTime(alert.dueAt)}`
                    : ''}
                  {alert.digestedIn !== null ? ` · sent in digest #${alert.digestedIn}` : ''}
                </div>
              </li>
            ))}
          </ul>
        </div>
      </div>
    </section>
  );
}
