import type { AlertCondition } from '@batchline/events';

/** When a rule's alerts are announced: each on its own, or in one digest per UTC hour or day. */
export const ALERT_CADENCES = ['immediate', 'hourly', 'daily'] as const;
export type AlertCadence = (typeof ALERT_CADENCES)[number];

/**
 * Minutes of the day on the clocks of `timeZone` (IANA, e.g. Europe/Berlin; UTC by default), [startMinute,
 * endMinute), wrapping midnight when start > end. Daylight saving time moves them with the local clocks.
 */
export interface QuietHours {
  startMinute: number;
  endMinute: number;
  timeZone: string;
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

const minuteOfUtcDay = (at: number): number => (((at % DAY_MS) + DAY_MS) % DAY_MS) / MINUTE_MS;
const dayStart = (at: number): number => at - (((at % DAY_MS) + DAY_MS) % DAY_MS);

const clocks = new Map<string, Intl.DateTimeFormat>();
/** The wall clock of `timeZone` at `at`, as if it were UTC (its offset from UTC, which Intl knows, applied). */
function wallClock(timeZone: string, at: number): number {
  let format = clocks.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    clocks.set(timeZone, format);
  }
  const part = Object.fromEntries(format.formatToParts(at).map(({ type, value }) => [type, Number(value)]));
  const minuteStart = Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!);
  return minuteStart + (at % MINUTE_MS);
}

/** Whether `timeZone` is an IANA time zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const localMinute = (quiet: QuietHours, at: number): number =>
  Math.floor(minuteOfUtcDay(wallClock(quiet.timeZone, at)));

const inSpan = (quiet: QuietHours, minute: number): boolean =>
  quiet.startMinute < quiet.endMinute
    ? minute >= quiet.startMinute && minute < quiet.endMinute
    : minute >= quiet.startMinute || minute < quiet.endMinute;

export function isQuiet(quiet: QuietHours, at: Date): boolean {
  return inSpan(quiet, localMinute(quiet, at.getTime()));
}

/**
 * The end of the quiet span that holds `at` (which must be quiet): the next moment the local clocks show
 * `endMinute`. Across a DST change the span is as long as the clocks say (an hour shorter or longer); an end
 * that the clocks skip (spring forward) comes at the first minute after the gap.
 */
export function quietEnd(quiet: QuietHours, at: Date): Date {
  const time = at.getTime() - (at.getTime() % MINUTE_MS);
  const ahead = (quiet.endMinute - localMinute(quiet, time) + 1440) % 1440;
  let end = time + ahead * MINUTE_MS;
  // The clocks' offset from UTC changed in between (DST): move by the change.
  end += wallClock(quiet.timeZone, time) - time - (wallClock(quiet.timeZone, end) - end);
  while (isQuiet(quiet, new Date(end))) end += MINUTE_MS;
  return new Date(end);
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
