import type { ModelPrice, ModelPriceTable } from '@batchline/config';

/** The prices the notifier estimates costs with (`MODEL_PRICES`, `BATCH_DISCOUNT_PERCENT`). */
export interface Pricing {
  prices: ModelPriceTable;
  batchDiscountPercent: number;
}

export interface CostEstimate {
  /** The price table entry used (the model itself, or the name its dated snapshot starts with). */
  pricedAs: string;
  /** What the same requests would have cost through the synchronous API, in US dollars. */
  synchronousUsd: number;
  batchUsd: number;
  savingUsd: number;
}

/** The table entry for a model: its own name, else the longest name it extends (`gpt-4o-mini-2024-07-18`). */
function priceOf(prices: ModelPriceTable, model: string): [string, ModelPrice] | null {
  const own = prices[model];
  if (own) return [model, own];
  const base = Object.keys(prices)
    .filter((name) => model.startsWith(`${name}-`))
    .sort((a, b) => b.length - a.length)[0];
  return base === undefined ? null : [base, prices[base]!];
}

/** Estimates a batch's cost from its token usage; null when the model has no price. */
export function estimateCost(
  pricing: Pricing,
  model: string,
  promptTokens: number,
  completionTokens: number,
): CostEstimate | null {
  const found = priceOf(pricing.prices, model);
  if (!found) return null;
  const [pricedAs, price] = found;
  const synchronousUsd = (promptTokens * price.input + completionTokens * price.output) / 1_000_000;
  const batchUsd = synchronousUsd * (1 - pricing.batchDiscountPercent / 100);
  return { pricedAs, synchronousUsd, batchUsd, savingUsd: synchronousUsd - batchUsd };
}

/** Dollars for people: four decimals below a dollar (batches of cheap models cost cents). */
export const usd = (amount: number): string => `$${amount.toFixed(amount < 1 ? 4 : 2)}`;
