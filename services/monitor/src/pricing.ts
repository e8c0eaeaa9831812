import type { ModelPrice, ModelPriceTable } from '@batchline/config';

/** A dated snapshot suffix, as providers name them: `-2024-07-18`, `-0125`. */
const SNAPSHOT_SUFFIX = /^-(\d{4}-\d{2}-\d{2}|\d{4})$/;

/**
 * The price of a model: its own entry, else the entry of the model it is a dated snapshot of
 * (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`, `gpt-3.5-turbo-0125` → `gpt-3.5-turbo`). Null when nothing matches.
 */
export function priceForModel(prices: ModelPriceTable, model: string | null): ModelPrice | null {
  if (model === null) return null;
  const exact = prices[model];
  if (exact) return exact;
  const name = Object.keys(prices).find(
    (candidate) => model.startsWith(candidate) && SNAPSHOT_SUFFIX.test(model.slice(candidate.length)),
  );
  return name === undefined ? null : prices[name]!;
}

export interface TokenCost {
  /** What the tokens would have cost as synchronous requests, in US dollars. */
  syncUsd: number;
  /** What they cost through the batch API: the synchronous price less the batch discount. */
  batchUsd: number;
}

export function tokenCost(
  price: ModelPrice,
  tokens: { promptTokens: number; completionTokens: number },
  batchDiscountPercent: number,
): TokenCost {
  const syncUsd = (tokens.promptTokens * price.input + tokens.completionTokens * price.output) / 1_000_000;
  return { syncUsd, batchUsd: syncUsd * (1 - batchDiscountPercent / 100) };
}
