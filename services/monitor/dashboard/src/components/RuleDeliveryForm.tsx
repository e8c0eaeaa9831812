import { type FormEvent, useState } from 'react';
import type { AlertRuleDelivery, AlertRules } from '../api.ts';

/** One rule's delivery and scope as form text: empty quiet hours, job type or provider clear them. */
interface DeliveryForm {
  cadence: AlertRuleDelivery['cadence'];
  quietStart: string;
  quietEnd: string;
  timeZone: string;
  jobType: string;
  provider: string;
}

const toForm = (delivery: AlertRuleDelivery): DeliveryForm => ({
  cadence: delivery.cadence,
  quietStart: delivery.quietHours?.start ?? '',
  quietEnd: delivery.quietHours?.end ?? '',
  timeZone: delivery.quietHours?.timeZone ?? 'UTC',
  jobType: delivery.jobType ?? '',
  provider: delivery.provider ?? '',
});

const orNull = (value: string) => (value.trim() === '' ? null : value.trim());

/** The change `POST /alerts` takes for one rule (its `perRule` entry). */
function fromForm(form: DeliveryForm): AlertRuleDelivery {
  const quiet = form.quietStart !== '' && form.quietEnd !== '';
  return {
    cadence: form.cadence,
    quietHours: quiet ? { start: form.quietStart, end: form.quietEnd, timeZone: form.timeZone.trim() } : null,
    jobType: orNull(form.jobType),
    provider: orNull(form.provider),
  };
}

/**
 * Sets one alert rule's cadence (at once, hourly or daily digest), quiet hours (on the clocks of an IANA time
 * zone) and scope (one job type and/or provider), through `POST /alerts` (`perRule`), which audits the change.
 */
export function RuleDeliveryForm({
  rules,
  onSave,
}: {
  rules: AlertRules;
  onSave: (condition: string, delivery: AlertRuleDelivery) => Promise<void>;
}) {
  const conditions = Object.keys(rules.perRule);
  const [condition, setCondition] = useState(conditions[0] ?? '');
  const deliveryOf = (name: string) => (rules.perRule as Record<string, AlertRuleDelivery>)[name]!;
  const [form, setForm] = useState<DeliveryForm | null>(condition ? toForm(deliveryOf(condition)) : null);
  if (!form) return null;

  const choose = (name: string) => {
    setCondition(name);
    setForm(toForm(deliveryOf(name)));
  };
  const save = async (event: FormEvent) => {
    event.preventDefault();
    await onSave(condition, fromForm(form));
  };
  const set = (change: Partial<DeliveryForm>) => setForm({ ...form, ...change });

  return (
    <form className="rules" onSubmit={save} data-testid="rule-delivery-form">
      <h3>Delivery of one rule</h3>
      <div className="rule">
        <label htmlFor="delivery-condition">Rule</label>
        <select id="delivery-condition" value={condition} onChange={(event) => choose(event.target.value)}>
          {conditions.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </div>
      <div className="rule">
        <label htmlFor="delivery-cadence">Cadence</label>
        <select
          id="delivery-cadence"
          value={form.cadence}
          onChange={(event) => set({ cadence: event.target.value as DeliveryForm['cadence'] })}
        >
          <option value="immediate">at once</option>
          <option value="hourly">hourly digest</option>
          <option value="daily">daily digest</option>
        </select>
      </div>
      <div className="rule">
        <label htmlFor="delivery-quiet-start">Quiet from</label>
        <input
          id="delivery-quiet-start"
          placeholder="22:00"
          value={form.quietStart}
          onChange={(event) => set({ quietStart: event.target.value })}
        />
        <label htmlFor="delivery-quiet-end">to</label>
        <input
          id="delivery-quiet-end"
          placeholder="07:00"
          value={form.quietEnd}
          onChange={(event) => set({ quietEnd: event.target.value })}
        />
      </div>
      <div className="rule">
        <label htmlFor="delivery-time-zone">Time zone</label>
        <input
          id="delivery-time-zone"
          placeholder="Europe/Berlin"
          value={form.timeZone}
          onChange={(event) => set({ timeZone: event.target.value })}
        />
      </div>
      <div className="rule">
        <label htmlFor="delivery-job-type">Only jobs of type</label>
        <input
          id="delivery-job-type"
          placeholder="any"
          value={form.jobType}
          onChange={(event) => set({ jobType: event.target.value })}
        />
      </div>
      <div className="rule">
        <label htmlFor="delivery-provider">Only provider</label>
        <select
          id="delivery-provider"
          value={form.provider}
          onChange={(event) => set({ provider: event.target.value })}
        >
          <option value="">any</option>
          <option value="openai">openai</option>
          <option value="anthropic">anthropic</option>
        </select>
      </div>
      <button type="submit" className="primary">
        Save delivery
      </button>
    </form>
  );
}
