import { type PricedProvider, type Pricing, priceOf, tokenCost } from '@batchline/config';

/** The prices the notifier estimates costs with (`MODEL_PRICES`, `*BATCH_DISCOUNT_PERCENT`). */
export type { Pricing };

export interface CostEstimate {
  /** The price table entry used (the model itself, or the name its dated snapshot starts with). */
  pricedAs: string;
  /** What the same requests would have cost through the synchronous API, in US dollars. */
  synchronousUsd: number;
  batchUsd: number;
  savingUsd: number;
}

/**
 * Estimates a batch's cost from its token usage (cached prompt tokens at the cached-input price), at its provider's
 * batch discount; null when the model has no price.
 */
export function estimateCost(
  pricing: Pricing,
  provider: PricedProvider,
  model: string,
  tokens: { promptTokens: number; completionTokens: number; cachedPromptTokens?: number },
): CostEstimate | null {
  const found = priceOf(pricing.prices, model);
  if (!found) return null;
  const cost = tokenCost(found.price, tokens, pricing.batchDiscountPercent[provider]);
  return {
    pricedAs: found.pricedAs,
    synchronousUsd: cost.syncUsd,
    batchUsd: cost.batchUsd,
    savingUsd: cost.syncUsd - cost.batchUsd,
  };
}

/** Dollars for people: four decimals below a dollar (batches of cheap models cost cents). */
export const usd = (amount: number): string => `$${amount.toFixed(amount < 1 ? 4 : 2)}`;
