import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BATCH_DISCOUNT_PERCENT,
  DEFAULT_MODEL_PRICES,
  MODEL_PRICES_SOURCE,
  type PricedProvider,
  parseModelPrices,
  priceOf,
  tokenCost,
} from '../index.ts';

describe('the built-in price table', () => {
  it('prices the Claude models, each with its cache-hit price a tenth of its input price (in cents)', () => {
    const claude = Object.entries(DEFAULT_MODEL_PRICES).filter(([name]) => name.startsWith('claude-'));
    expect(claude.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'claude-sonnet-4-5',
        'claude-3-5-haiku',
        'claude-opus-4-1',
        'claude-haiku-4-5',
      ]),
    );
    // Listed to the cent: claude-3-haiku's $0.025 is $0.03.
    for (const [name, price] of claude) {
      expect(price.cachedInput, name).toBe(Math.ceil((price.input / 10) * 100 - 1e-9) / 100);
    }
    expect(DEFAULT_MODEL_PRICES['claude-3-5-haiku']).toEqual({ input: 0.8, output: 4, cachedInput: 0.08 });
  });

  it('gives every OpenAI model with prompt caching a cached-input price below its input price', () => {
    for (const [name, price] of Object.entries(DEFAULT_MODEL_PRICES)) {
      // gpt-4-turbo and gpt-3.5-turbo have no prompt caching: their cached input is their input price.
      if (!['gpt-4-turbo', 'gpt-3.5-turbo'].includes(name))
        expect(price.cachedInput, name).toBeLessThan(price.input);
    }
    expect(DEFAULT_MODEL_PRICES['gpt-4o-mini']?.cachedInput).toBe(0.075);
  });

  it('takes cachedInput in MODEL_PRICES, and nothing else unknown', () => {
    const parsed = parseModelPrices('{"m": {"input": 1, "output": 2, "cachedInput": 0.1}}');
    expect('prices' in parsed && parsed.prices.m).toEqual({ input: 1, output: 2, cachedInput: 0.1 });
    expect(parseModelPrices('{"m": {"input": 1, "output": 2, "cacheWrite": 1.25}}')).toEqual({
      error: expect.stringMatching(/is not a price table at m/),
    });
  });
});

describe('priceOf', () => {
  it.each([
    ['gpt-4o-mini', 'gpt-4o-mini'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['claude-3-5-haiku-20241022', 'claude-3-5-haiku'],
    ['claude-3-5-haiku-latest', 'claude-3-5-haiku'],
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['claude-opus-4-1-20250805', 'claude-opus-4-1'],
  ])('prices %s as %s', (model, pricedAs) => {
    expect(priceOf(DEFAULT_MODEL_PRICES, model)).toEqual({ pricedAs, price: DEFAULT_MODEL_PRICES[pricedAs] });
  });

  it.each(['gpt-4o-audio-preview', 'gpt-4o-minimal', 'claude-3', 'claude-sonnet-4-5-beta'])(
    'does not price %s',
    (model) => expect(priceOf(DEFAULT_MODEL_PRICES, model)).toBeNull(),
  );
});

describe('tokenCost', () => {
  const price = { input: 3, output: 15, cachedInput: 0.3 };

  it('prices tokens per million, less the batch discount', () => {
    const cost = tokenCost(price, { promptTokens: 1_000_000, completionTokens: 100_000 }, 50);
    expect(cost.syncUsd).toBeCloseTo(3 + 1.5, 10);
    expect(cost.batchUsd).toBeCloseTo(2.25, 10);
  });

  it('prices the cached part of the prompt at the cached-input price', () => {
    const cost = tokenCost(
      price,
      { promptTokens: 1_000_000, cachedPromptTokens: 600_000, completionTokens: 0 },
      0,
    );
    expect(cost.syncUsd).toBeCloseTo(0.4 * 3 + 0.6 * 0.3, 10);
    // Without a cached price, cached tokens cost as input; never more cached than prompt tokens.
    expect(
      tokenCost(
        { input: 3, output: 15 },
        { promptTokens: 10, cachedPromptTokens: 50, completionTokens: 0 },
        0,
      ),
    ).toEqual({ syncUsd: 30 / 1_000_000, batchUsd: 30 / 1_000_000 });
  });
});

describe('tokenCost with cached prompt tokens, at the built-in prices and discounts', () => {
  // 1M prompt tokens (a share of them cached) and 100k completion tokens, in dollars per million tokens.
  it.each([
    // model, provider, cached tokens, synchronous dollars
    ['gpt-4o-mini', 'openai', 0, 0.15 + 0.1 * 0.6],
    ['gpt-4o-mini', 'openai', 400_000, 0.6 * 0.15 + 0.4 * 0.075 + 0.1 * 0.6],
    ['gpt-4o-mini', 'openai', 1_000_000, 0.075 + 0.1 * 0.6],
    ['claude-sonnet-4-5', 'anthropic', 0, 3 + 0.1 * 15],
    ['claude-sonnet-4-5', 'anthropic', 400_000, 0.6 * 3 + 0.4 * 0.3 + 0.1 * 15],
    ['claude-sonnet-4-5', 'anthropic', 1_000_000, 0.3 + 0.1 * 15],
  ] as const)('prices %s (%s) with %d of 1M prompt tokens cached', (model, provider, cached, syncUsd) => {
    const discount = DEFAULT_BATCH_DISCOUNT_PERCENT[provider];
    const cost = tokenCost(
      DEFAULT_MODEL_PRICES[model]!,
      { promptTokens: 1_000_000, cachedPromptTokens: cached, completionTokens: 100_000 },
      discount,
    );
    expect(cost.syncUsd).toBeCloseTo(syncUsd, 12);
    expect(cost.batchUsd).toBeCloseTo(syncUsd * (1 - discount / 100), 12);
  });

  it('costs the same with no cached tokens as with cachedPromptTokens left out', () => {
    const price = DEFAULT_MODEL_PRICES['gpt-4o']!;
    const tokens = { promptTokens: 12_345, completionTokens: 678 };
    expect(tokenCost(price, { ...tokens, cachedPromptTokens: 0 }, 50)).toEqual(tokenCost(price, tokens, 50));
  });
});

describe('the price table kept true', () => {
  const providerOf = (model: string): PricedProvider =>
    model.startsWith('claude-') ? 'anthropic' : 'openai';

  it('gives every model input, cached-input and output prices, and its provider a batch discount', () => {
    for (const [model, price] of Object.entries(DEFAULT_MODEL_PRICES)) {
      expect(price.input, model).toBeGreaterThan(0);
      expect(price.output, model).toBeGreaterThan(0);
      expect(price.cachedInput, model).toBeGreaterThan(0);
      expect(price.cachedInput!, model).toBeLessThanOrEqual(price.input);
      const discount = DEFAULT_BATCH_DISCOUNT_PERCENT[providerOf(model)];
      expect(discount, model).toBeGreaterThan(0);
      expect(discount, model).toBeLessThan(100);
    }
  });

  it('says in docs/configuration.md where the figures come from and when they were written down', async () => {
    const docs = await readFile(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    const prices = docs.slice(docs.indexOf('## Prices'), docs.indexOf('## CLI commands'));
    for (const page of MODEL_PRICES_SOURCE.pages) expect(prices).toContain(page);
    expect(prices).toContain(`written down on\n${MODEL_PRICES_SOURCE.writtenDown}`);
    for (const model of Object.keys(DEFAULT_MODEL_PRICES)) expect(prices).toContain(`\`${model}\``);
  });
});
