import type { AlertCondition } from '@batchline/events';

/** When a rule's alerts are announced: each on its own, or in one digest per UTC hour or day. */
export const ALERT_CADENCES = ['immediate', 'hourly', 'daily'] as const;
export type AlertCadence = (typeof ALERT_CADENCES)[number];

/** Minutes of the UTC day, [startMinute, endMinute), wrapping midnight when start > end. */
export interface QuietHours {
  startMinute: number;
  endMinute: number;
}

/** How one alert rule is delivered, and what it watches. */
export interface AlertRule {
  condition: AlertCondition;
  cadence: AlertCadence;
  quietHours: QuietHours | null;
  /** Only batches of this job type / provider count (null: all). */
  jobType: string | null;
  provider: string | null;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

const minuteOfDay = (at: number): number => (((at % DAY_MS) + DAY_MS) % DAY_MS) / MINUTE_MS;
const dayStart = (at: number): number => at - (((at % DAY_MS) + DAY_MS) % DAY_MS);

export function isQuiet(quiet: QuietHours, at: Date): boolean {
  const minute = minuteOfDay(at.getTime());
  return quiet.startMinute < quiet.endMinute
    ? minute >= quiet.startMinute && minute < quiet.endMinute
    : minute >= quiet.startMinute || minute < quiet.endMinute;
}

/** The end of the quiet span that holds `at` (which must be quiet). */
export function quietEnd(quiet: QuietHours, at: Date): Date {
  const time = at.getTime();
  const sameDayEnd = dayStart(time) + quiet.endMinute * MINUTE_MS;
  // In a span that wraps midnight, before midnight: it ends tomorrow.
  const wrapsToTomorrow = quiet.startMinute > quiet.endMinute && minuteOfDay(time) >= quiet.startMinute;
  return new Date(wrapsToTomorrow ? sameDayEnd + DAY_MS : sameDayEnd);
}

/**
 * When an alert of `rule` raised at `raisedAt` is announced: null for at once (an immediate rule outside quiet
 * hours), else the due time of the digest that carries it — the end of its UTC hour (hourly) or day (daily), or
 * for an immediate rule the moment itself — moved to the end of the quiet hours when it falls in them.
 */
export function alertDueAt(rule: Pick<AlertRule, 'cadence' | 'quietHours'>, raisedAt: Date): Date | null {
  const time = raisedAt.getTime();
  const due =
    rule.cadence === 'hourly'
      ? Math.floor(time / HOUR_MS) * HOUR_MS + HOUR_MS
      : rule.cadence === 'daily'
        ? dayStart(time) + DAY_MS
        : time;
  if (rule.quietHours && isQuiet(rule.quietHours, new Date(due)))
    return quietEnd(rule.quietHours, new Date(due));
  return rule.cadence === 'immediate' ? null : new Date(due);
}

/** "HH:MM" of a minute of the day, and back (null when the text is not a time of day). */
export const formatMinute = (minute: number): string =>
  `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
export function parseMinute(text: string): number | null {
  const match = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(text);
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

/** The alerts a digest announces, oldest first. */
export interface HeldAlert {
  message: string;
  value: number;
  threshold: number;
  batchLogIds: number[];
  raisedAt: Date;
}

const LISTED_IDS = 20;
const LISTED_MESSAGES = 3;

/**
 * One digest of a rule's held alerts: the latest value and threshold, the batches of all of them (the first
 * few), and a message saying how many alerts since when, with the latest ones' messages.
 */
export function digestOf(
  cadence: AlertCadence,
  held: readonly HeldAlert[],
): { message: string; value: number; threshold: number; batchLogIds: number[] } {
  const latest = held[held.length - 1]!;
  const what = cadence === 'immediate' ? 'held during quiet hours' : `${cadence} digest`;
  const recent = held
    .slice(-LISTED_MESSAGES)
    .map((alert) => `${alert.raisedAt.toISOString()}: ${alert.message}`)
    .join(' | ');
  return {
    message: `${held.length} alert(s) ${what}, from ${held[0]!.raisedAt.toISOString()}: ${recent}`,
    value: latest.value,
    threshold: latest.threshold,
    batchLogIds: [...new Set(held.flatMap((alert) => alert.batchLogIds))].slice(0, LISTED_IDS),
  };
}
