import { z } from 'zod';

/** Synchronous (non-batch) list price of a model, in US dollars per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /**
   * Input tokens read from the provider's prompt cache (OpenAI "cached input", Anthropic "cache hits"); absent:
   * priced as `input`. Anthropic's cache writes (1.25× input) are not modelled.
   */
  cachedInput?: number;
}

/**
 * Where the built-in table's figures come from and when they were written down (docs/configuration.md, "Prices",
 * says the same; a test keeps the two alike).
 */
export const MODEL_PRICES_SOURCE = {
  pages: [
    'https://openai.com/api/pricing',
    'https://platform.openai.com/docs/pricing',
    'https://www.anthropic.com/pricing',
    'https://docs.anthropic.com/en/docs/about-claude/pricing',
  ],
  writtenDown: '2026-12-05',
} as const;

/** Model name → its synchronous price. Names match a model exactly or as the base of a dated snapshot. */
export type ModelPriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * The providers' published standard (synchronous) prices per million tokens, as known when this table was written
 * (docs/configuration.md, "Prices", says from where and when; they could not be checked online then). The batch
 * price is these less the provider's batch discount. Check them against the providers' pricing pages and override
 * or extend them with `MODEL_PRICES`. Not modelled: Anthropic's long-context (> 200k input tokens) rates.
 */
export const DEFAULT_MODEL_PRICES: ModelPriceTable = {
  // OpenAI
  'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
  'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  // No prompt caching: a cached token costs what any input token does.
  'gpt-4-turbo': { input: 10, output: 30, cachedInput: 10 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5, cachedInput: 0.5 },
  'o3-mini': { input: 1.1, output: 4.4, cachedInput: 0.55 },
  'o4-mini': { input: 1.1, output: 4.4, cachedInput: 0.275 },
  'gpt-5': { input: 1.25, output: 10, cachedInput: 0.125 },
  'gpt-5-mini': { input: 0.25, output: 2, cachedInput: 0.025 },
  'gpt-5-nano': { input: 0.05, output: 0.4, cachedInput: 0.005 },
  // Anthropic (cachedInput: cache hits and refreshes, a tenth of input)
  'claude-opus-4-5': { input: 5, output: 25, cachedInput: 0.5 },
  'claude-opus-4-1': { input: 15, output: 75, cachedInput: 1.5 },
  'claude-opus-4': { input: 15, output: 75, cachedInput: 1.5 },
  'claude-sonnet-4-5': { input: 3, output: 15, cachedInput: 0.3 },
  'claude-sonnet-4': { input: 3, output: 15, cachedInput: 0.3 },
  'claude-3-7-sonnet': { input: 3, output: 15, cachedInput: 0.3 },
  'claude-3-5-sonnet': { input: 3, output: 15, cachedInput: 0.3 },
  'claude-haiku-4-5': { input: 1, output: 5, cachedInput: 0.1 },
  'claude-3-5-haiku': { input: 0.8, output: 4, cachedInput: 0.08 },
  'claude-3-opus': { input: 15, output: 75, cachedInput: 1.5 },
  'claude-3-haiku': { input: 0.25, output: 1.25, cachedInput: 0.03 },
};

const price = z.number().finite().nonnegative();
const PriceTableSchema = z.record(
  z.string().min(1).max(200),
  z.strictObject({ input: price, output: price, cachedInput: price.optional() }),
);

/**
 * Parses `MODEL_PRICES` (JSON: `{"model": {"input": <usd per 1M>, "output": <usd per 1M>, "cachedInput"?: <usd per
 * 1M>}}`) and lays it over the defaults, so that a deployment names only the models it adds or prices differently.
 * Returns an error text instead of throwing, for the config loader to report.
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
