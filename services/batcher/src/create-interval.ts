import { parseDuration } from '@batchline/config';
import { CronExpressionParser } from 'cron-parser';

/** When batches are due: every fixed duration (epoch-aligned, the same instants on every replica), or by cron. */
export type CreateInterval = { kind: 'every'; ms: number } | { kind: 'cron'; expression: string };

/** `5m`, `30s` … or a five-field cron expression such as `*\/5 * * * *` (UTC); null with why when it is neither. */
export function parseCreateInterval(text: string): { interval: CreateInterval } | { error: string } {
  const ms = parseDuration(text.trim());
  if (ms !== null) {
    return ms > 0 ? { interval: { kind: 'every', ms } } : { error: `"${text}" is not a positive duration` };
  }
  const expression = text.trim();
  if (expression.split(/\s+/).length !== 5) {
    return { error: `"${text}" is neither a duration (5m) nor a five-field cron expression (*/5 * * * *)` };
  }
  try {
    CronExpressionParser.parse(expression, { tz: 'UTC', strict: false });
    return { interval: { kind: 'cron', expression } };
  } catch (error) {
    return { error: `"${text}" is not a valid cron expression: ${(error as Error).message}` };
  }
}

/**
 * The last two instants the interval fired at or before `now`, latest first. A request enqueued before the latest
 * is due at it; one enqueued before the one before has waited two intervals.
 */
export function lastFirings(interval: CreateInterval, now: Date): [Date, Date] {
  if (interval.kind === 'every') {
    const latest = Math.floor(now.getTime() / interval.ms) * interval.ms;
    return [new Date(latest), new Date(latest - interval.ms)];
  }
  // prev() is strictly before currentDate: one millisecond later makes a firing at exactly `now` count.
  const cron = CronExpressionParser.parse(interval.expression, {
    tz: 'UTC',
    currentDate: new Date(now.getTime() + 1),
  });
  const latest = cron.prev().toDate();
  return [latest, cron.prev().toDate()];
}

/** The next instant the interval fires after `now` (the dashboard's "next batch due"). */
export function nextFiring(interval: CreateInterval, now: Date): Date {
  if (interval.kind === 'every') {
    return new Date((Math.floor(now.getTime() / interval.ms) + 1) * interval.ms);
  }
  return CronExpressionParser.parse(interval.expression, { tz: 'UTC', currentDate: now }).next().toDate();
}
