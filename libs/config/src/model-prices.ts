import { z } from 'zod';

/** Synchronous (non-batch) list price of a model, in US dollars per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

/** Model name → its synchronous price. Names match a model exactly or as the prefix of a dated snapshot. */
export type ModelPriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * OpenAI's published standard (synchronous) prices per million tokens when this table was written; the batch
 * price is these less `BATCH_DISCOUNT_PERCENT`. Check them against the provider's pricing page and override or
 * extend them with `MODEL_PRICES`.
 */
export const DEFAULT_MODEL_PRICES: ModelPriceTable = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
};

const price = z.number().finite().nonnegative();
const PriceTableSchema = z.record(
  z.string().min(1).max(200),
  z.strictObject({ input: price, output: price }),
);

/**
 * Parses `MODEL_PRICES` (JSON: `{"model": {"input": <usd per 1M>, "output": <usd per 1M>}}`) and lays it over
 * the defaults, so that a deployment names only the models it adds or prices differently. Returns an error text
 * instead of throwing, for the config loader to report.
 */
export function parseModelPrices(text: string): { prices: ModelPriceTable } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: 'is not JSON' };
  }
  const parsed = PriceTableSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? ` at ${issue.path.map(String).join('.')}` : '';
    return { error: `is not a price table${where}: ${issue.message}` };
  }
  return { prices: { ...DEFAULT_MODEL_PRICES, ...parsed.data } };
}
