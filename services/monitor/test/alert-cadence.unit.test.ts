import { describe, expect, it } from 'vitest';
import { alertDueAt, digestOf, formatMinute, isQuiet, parseMinute, quietEnd } from '../src/alert-cadence.ts';

const at = (time: string) => new Date(`2026-12-05T${time}Z`);
const night = { startMinute: 22 * 60, endMinute: 7 * 60, timeZone: 'UTC' }; // 22:00–07:00 UTC, wraps midnight
const lunch = { startMinute: 12 * 60, endMinute: 13 * 60 + 30, timeZone: 'UTC' }; // 12:00–13:30 UTC

describe('quiet hours', () => {
  it('hold from their start, up to (not including) their end, across midnight too', () => {
    expect(
      ['21:59:59', '22:00:00', '23:59:59', '00:00:00', '06:59:59', '07:00:00'].map((t) =>
        isQuiet(night, at(t)),
      ),
    ).toEqual([false, true, true, true, true, false]);
    expect(['11:59:59', '12:00:00', '13:29:59', '13:30:00'].map((t) => isQuiet(lunch, at(t)))).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });

  it('end the same day, or the next day when the span wraps and it is before midnight', () => {
    expect(quietEnd(night, at('23:15:00'))).toEqual(new Date('2026-12-06T07:00:00Z'));
    expect(quietEnd(night, at('03:00:00'))).toEqual(at('07:00:00'));
    expect(quietEnd(lunch, at('12:10:00'))).toEqual(at('13:30:00'));
  });

  it('follow the clocks of their time zone across both DST changes (Europe/Berlin, 2026)', () => {
    const berlinNight = { ...night, timeZone: 'Europe/Berlin' };
    // The night before clocks go forward (29 March, 02:00 CET → 03:00 CEST): 22:00 CET to 07:00 CEST, 8 hours.
    expect(isQuiet(berlinNight, new Date('2026-03-28T20:59:00Z'))).toBe(false);
    expect(isQuiet(berlinNight, new Date('2026-03-28T21:00:00Z'))).toBe(true);
    expect(quietEnd(berlinNight, new Date('2026-03-28T22:00:00Z'))).toEqual(new Date('2026-03-29T05:00:00Z'));
    expect(isQuiet(berlinNight, new Date('2026-03-29T04:59:00Z'))).toBe(true);
    expect(isQuiet(berlinNight, new Date('2026-03-29T05:00:00Z'))).toBe(false);
    // The night they go back (25 October, 03:00 CEST → 02:00 CET): 22:00 CEST to 07:00 CET, 10 hours.
    expect(isQuiet(berlinNight, new Date('2026-10-24T20:00:00Z'))).toBe(true);
    expect(quietEnd(berlinNight, new Date('2026-10-24T21:00:00Z'))).toEqual(new Date('2026-10-25T06:00:00Z'));
    expect(isQuiet(berlinNight, new Date('2026-10-25T05:59:00Z'))).toBe(true);
    expect(isQuiet(berlinNight, new Date('2026-10-25T06:00:00Z'))).toBe(false);
  });

  it('end at the first minute after the gap when the clocks skip their end, at its first pass when they repeat it', () => {
    const skipped = { startMinute: 60, endMinute: 150, timeZone: 'Europe/Berlin' }; // 01:00–02:30
    expect(quietEnd(skipped, new Date('2026-03-29T00:30:00Z'))).toEqual(new Date('2026-03-29T01:00:00Z'));
    const repeated = { startMinute: 0, endMinute: 150, timeZone: 'Europe/Berlin' }; // 00:00–02:30
    expect(quietEnd(repeated, new Date('2026-10-24T23:00:00Z'))).toEqual(new Date('2026-10-25T00:30:00Z'));
  });

  it('hold an immediate alert until the local end of quiet hours (America/New_York, DST starting 8 March 2026)', () => {
    const newYorkNight = { ...night, timeZone: 'America/New_York' };
    // 23:30 EST on 7 March; the night ends at 07:00 EDT, 11:00Z (12:00Z had the clocks not moved).
    expect(
      alertDueAt({ cadence: 'immediate', quietHours: newYorkNight }, new Date('2026-03-08T04:30:00Z')),
    ).toEqual(new Date('2026-03-08T11:00:00Z'));
    expect(
      alertDueAt({ cadence: 'immediate', quietHours: newYorkNight }, new Date('2026-03-08T11:00:00Z')),
    ).toBeNull();
  });

  it('read and write as HH:MM', () => {
    expect(parseMinute('07:30')).toBe(450);
    expect(parseMinute('00:00')).toBe(0);
    expect(parseMinute('23:59')).toBe(1439);
    for (const bad of ['24:00', '7:30', '07:60', '0730', '', '07:30:00']) expect(parseMinute(bad)).toBeNull();
    expect(formatMinute(450)).toBe('07:30');
    for (let minute = 0; minute < 1440; minute += 7) expect(parseMinute(formatMinute(minute))).toBe(minute);
  });
});

describe('alertDueAt', () => {
  it('sends an immediate alert at once outside quiet hours, and at their end inside them', () => {
    expect(alertDueAt({ cadence: 'immediate', quietHours: null }, at('23:30:00'))).toBeNull();
    expect(alertDueAt({ cadence: 'immediate', quietHours: night }, at('21:30:00'))).toBeNull();
    expect(alertDueAt({ cadence: 'immediate', quietHours: night }, at('23:30:00'))).toEqual(
      new Date('2026-12-06T07:00:00Z'),
    );
  });

  it('holds an hourly alert for the digest at the end of its UTC hour', () => {
    expect(alertDueAt({ cadence: 'hourly', quietHours: null }, at('10:00:00'))).toEqual(at('11:00:00'));
    expect(alertDueAt({ cadence: 'hourly', quietHours: null }, at('10:59:59.999'))).toEqual(at('11:00:00'));
    expect(alertDueAt({ cadence: 'hourly', quietHours: null }, at('23:20:00'))).toEqual(
      new Date('2026-12-06T00:00:00Z'),
    );
  });

  it('holds a daily alert for the digest at the next UTC midnight', () => {
    expect(alertDueAt({ cadence: 'daily', quietHours: null }, at('00:00:00'))).toEqual(
      new Date('2026-12-06T00:00:00Z'),
    );
    expect(alertDueAt({ cadence: 'daily', quietHours: null }, at('23:59:00'))).toEqual(
      new Date('2026-12-06T00:00:00Z'),
    );
  });

  it('moves a digest that falls due in quiet hours to their end (one digest for the whole quiet span)', () => {
    const hourly = { cadence: 'hourly' as const, quietHours: night };
    expect(alertDueAt(hourly, at('20:30:00'))).toEqual(at('21:00:00'));
    expect(alertDueAt(hourly, at('21:30:00'))).toEqual(new Date('2026-12-06T07:00:00Z'));
    expect(alertDueAt(hourly, at('02:30:00'))).toEqual(at('07:00:00'));
    // Due at 07:00 sharp: the quiet hours are over.
    expect(alertDueAt(hourly, at('06:30:00'))).toEqual(at('07:00:00'));
    expect(alertDueAt({ cadence: 'daily', quietHours: night }, at('15:00:00'))).toEqual(
      new Date('2026-12-06T07:00:00Z'),
    );
    expect(alertDueAt({ cadence: 'daily', quietHours: lunch }, at('15:00:00'))).toEqual(
      new Date('2026-12-06T00:00:00Z'),
    );
  });

  it('never sends before the alert was raised, nor holds one past a day (property over a day of minutes)', () => {
    for (const cadence of ['immediate', 'hourly', 'daily'] as const) {
      for (const quietHours of [null, night, lunch]) {
        for (let minute = 0; minute < 1440; minute += 1) {
          const raised = new Date(at('00:00:00').getTime() + minute * 60_000 + 17_000);
          const due = alertDueAt({ cadence, quietHours }, raised);
          if (due === null) {
            expect(cadence).toBe('immediate');
            expect(quietHours && isQuiet(quietHours, raised)).toBeFalsy();
            continue;
          }
          expect(due.getTime()).toBeGreaterThan(raised.getTime());
          expect(due.getTime() - raised.getTime()).toBeLessThanOrEqual(24 * 3_600_000 + 7 * 3_600_000);
          if (quietHours) expect(isQuiet(quietHours, due)).toBe(false);
        }
      }
    }
  });
});

describe('digestOf', () => {
  it('counts the alerts, keeps the latest value, joins their batches and quotes the latest messages', () => {
    const held = [1, 2, 3, 4].map((n) => ({
      message: `m${n}`,
      value: n * 10,
      threshold: 5,
      batchLogIds: [n, n + 1],
      raisedAt: at(`10:0${n}:00`),
    }));
    const digest = digestOf('hourly', held);
    expect(digest).toMatchObject({ value: 40, threshold: 5, batchLogIds: [1, 2, 3, 4, 5] });
    expect(digest.message).toBe(
      '4 alert(s) hourly digest, from 2026-12-05T10:01:00.000Z: 2026-12-05T10:02:00.000Z: m2 | 2026-12-05T10:03:00.000Z: m3 | 2026-12-05T10:04:00.000Z: m4',
    );
    expect(digestOf('immediate', held.slice(0, 1)).message).toContain('1 alert(s) held during quiet hours');
  });
});
