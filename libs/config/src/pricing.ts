import type { ModelPrice, ModelPriceTable } from './model-prices.ts';

/** The providers batchline prices (the same names as `PROVIDERS` in libs/domain). */
export type PricedProvider = 'openai' | 'anthropic';

/**
 * Each provider's discount of batch over synchronous requests, in percent: the OpenAI Batch API and Anthropic's
 * Message Batches both bill half the standard price (docs/configuration.md, "Prices").
 */
export const DEFAULT_BATCH_DISCOUNT_PERCENT: Readonly<Record<PricedProvider, number>> = {
  openai: 50,
  anthropic: 50,
};

/** What cost estimates are made with: the price table and each provider's batch discount. */
export interface Pricing {
  prices: ModelPriceTable;
  batchDiscountPercent: Readonly<Record<PricedProvider, number>>;
}

/**
 * The pricing the settings ask for: a provider's own discount setting, else `BATCH_DISCOUNT_PERCENT` (for every
 * provider), else the provider's built-in discount.
 */
export function pricingFrom(settings: {
  MODEL_PRICES: ModelPriceTable;
  BATCH_DISCOUNT_PERCENT?: number | undefined;
  OPENAI_BATCH_DISCOUNT_PERCENT?: number | undefined;
  ANTHROPIC_BATCH_DISCOUNT_PERCENT?: number | undefined;
}): Pricing {
  const general = settings.BATCH_DISCOUNT_PERCENT;
  return {
    prices: settings.MODEL_PRICES,
    batchDiscountPercent: {
      openai: settings.OPENAI_BATCH_DISCOUNT_PERCENT ?? general ?? DEFAULT_BATCH_DISCOUNT_PERCENT.openai,
      anthropic:
        settings.ANTHROPIC_BATCH_DISCOUNT_PERCENT ?? general ?? DEFAULT_BATCH_DISCOUNT_PERCENT.anthropic,
    },
  };
}

/** A dated snapshot or alias suffix, as providers name them: `-2024-07-18`, `-20241022`, `-0125`, `-latest`. */
const SNAPSHOT_SUFFIX = /^-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$/;

/**
 * A model's table entry: its own, else that of the model it is a snapshot or alias of
 * (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`, `claude-3-5-haiku-20241022` → `claude-3-5-haiku`,
 * `claude-3-5-haiku-latest` → `claude-3-5-haiku`). Null when nothing matches (`gpt-4o-audio-preview` is not gpt-4o).
 */
export function priceOf(
  prices: ModelPriceTable,
  model: string,
): { pricedAs: string; price: ModelPrice } | null {
  const own = prices[model];
  if (own) return { pricedAs: model, price: own };
  const base = Object.keys(prices).find(
    (name) => model.startsWith(name) && SNAPSHOT_SUFFIX.test(model.slice(name.length)),
  );
  return base === undefined ? null : { pricedAs: base, price: prices[base]! };
}

export interface TokenCost {
  /** What the tokens would have cost as synchronous requests, in US dollars. */
  syncUsd: number;
  /** What they cost through the batch API: the synchronous price less the batch discount. */
  batchUsd: number;
}

/**
 * The cost of a batch's tokens, the one formula of every cost batchline shows (the notifier's final message, the
 * monitor's figures). `cachedPromptTokens` are the part of `promptTokens` read from the prompt cache (OpenAI
 * `cached_tokens`; Anthropic cache reads, which batchline counts in `promptTokens` too), priced at `cachedInput`
 * (the input price when the model has none); the rest of the prompt at `input`.
 */
export function tokenCost(
  price: ModelPrice,
  tokens: { promptTokens: number; completionTokens: number; cachedPromptTokens?: number },
  batchDiscountPercent: number,
): TokenCost {
  const cached = Math.min(tokens.cachedPromptTokens ?? 0, tokens.promptTokens);
  const syncUsd =
    ((tokens.promptTokens - cached) * price.input +
      cached * (price.cachedInput ?? price.input) +
      tokens.completionTokens * price.output) /
    1_000_000;
  return { syncUsd, batchUsd: syncUsd * (1 - batchDiscountPercent / 100) };
}
