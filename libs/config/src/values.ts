import { z } from 'zod';
import { parseDuration } from './duration.ts';
import { type ModelPriceTable, parseModelPrices } from './model-prices.ts';

/**
 * How settings are written in the environment, each turned into a typed value by one schema. An issue may carry
 * `params.fix`, which the configuration error shows instead of the setting's own fix.
 */

const DURATION_FIX = 'Use a duration such as 500ms, 30s, 5m, 1h or 2d.';

/** A positive duration (`500ms`, `30s`, `5m`, `1h`, `2d`) → milliseconds. */
export const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === null || ms <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a positive duration`,
      params: { fix: DURATION_FIX },
    });
    return z.NEVER;
  }
  return ms;
});

/** Comma-separated positive durations → milliseconds each (a schedule whose last step repeats). */
export const durationList = z.string().transform((text, ctx) => {
  const parts = text.split(',').map((part) => part.trim());
  const values = parts.map(parseDuration);
  const bad = parts.find((_, i) => values[i] === null || (values[i] ?? 0) <= 0);
  if (bad !== undefined || parts.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `"${bad ?? text}" is not a positive duration`,
      params: { fix: 'Use comma-separated durations such as 1m,2m,5m (the last one repeats).' },
    });
    return z.NEVER;
  }
  return values as number[];
});

/** Comma-separated values, blanks dropped. */
export const commaList = z.string().transform((text) =>
  text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0),
);

/** A whole number between `min` and `max`. */
export const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: 'is not a whole number' })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );

/** A TCP port (0 picks a free one where the setting says so). */
export const port = integer(0, 65535);

/** A URL of one of the given protocols (`'http:'`, `'postgres:'`, ...). */
export const url = (protocols: readonly string[]) =>
  z.string().refine(
    (text) => {
      try {
        return protocols.includes(new URL(text).protocol);
      } catch {
        return false;
      }
    },
    { message: `is not a ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL` },
  );

export const httpUrl = url(['http:', 'https:']);

/** `true`/`false` (or `1`/`0`). */
export const flag = z
  .enum(['true', 'false', '1', '0'], { message: 'is not true or false' })
  .transform((value) => value === 'true' || value === '1');

/** Synchronous model prices as JSON, laid over the built-in table. */
export const modelPrices = z.string().transform((text, ctx): ModelPriceTable => {
  const result = parseModelPrices(text);
  if ('error' in result) {
    ctx.addIssue({ code: 'custom', message: result.error });
    return z.NEVER;
  }
  return result.prices;
});

/** Any non-empty text. */
export const text = z.string().min(1);
