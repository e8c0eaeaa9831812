import { type ModelPrice, type ModelPriceTable, type Pricing, priceOf } from '@batchline/config';

export { tokenCost } from '@batchline/config';

/** A model's price (its own, or that of the model it is a snapshot of); null when unknown or unpriced. */
export function priceForModel(prices: ModelPriceTable, model: string | null): ModelPrice | null {
  return model === null ? null : (priceOf(prices, model)?.price ?? null);
}

/** The batch discount of a batch's provider (the database allows only priced providers). */
export const batchDiscountOf = (pricing: Pricing, provider: string): number =>
  pricing.batchDiscountPercent[provider as keyof Pricing['batchDiscountPercent']];
