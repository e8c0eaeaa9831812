import {
  ConfigError,
  DEFAULT_MODEL_PRICES,
  loadSettings,
  parseModelPrices,
  pricingFrom,
  secretValues,
} from '@batchline/config';
import { describe, expect, it } from 'vitest';
import { monitorSettings } from '../src/settings.ts';

describe('monitor settings', () => {
  it('defaults to the built-in price table, a 50 % batch discount and a one-minute alert interval', () => {
    const config = loadSettings(monitorSettings, {});
    expect(config.MODEL_PRICES).toEqual(DEFAULT_MODEL_PRICES);
    expect(config.MODEL_PRICES['gpt-4o-mini']).toEqual({ input: 0.15, output: 0.6, cachedInput: 0.075 });
    expect(pricingFrom(config).batchDiscountPercent).toEqual({ openai: 50, anthropic: 50 });
    expect(config.MONITOR_ALERT_INTERVAL).toBe(60_000);
    expect(config.ADMIN_READONLY_TOKENS).toEqual([]);
  });

  it('lays MODEL_PRICES over the defaults', () => {
    const config = loadSettings(monitorSettings, {
      MODEL_PRICES: '{"my-model": {"input": 1, "output": 2}, "gpt-4o": {"input": 3, "output": 4}}',
      BATCH_DISCOUNT_PERCENT: '40',
    });
    expect(config.MODEL_PRICES['my-model']).toEqual({ input: 1, output: 2 });
    expect(config.MODEL_PRICES['gpt-4o']).toEqual({ input: 3, output: 4 });
    expect(config.MODEL_PRICES['gpt-4o-mini']).toEqual(DEFAULT_MODEL_PRICES['gpt-4o-mini']);
    expect(pricingFrom(config).batchDiscountPercent).toEqual({ openai: 40, anthropic: 40 });
  });

  it("takes a provider's own batch discount over BATCH_DISCOUNT_PERCENT", () => {
    const config = loadSettings(monitorSettings, {
      BATCH_DISCOUNT_PERCENT: '40',
      ANTHROPIC_BATCH_DISCOUNT_PERCENT: '30',
    });
    expect(pricingFrom(config).batchDiscountPercent).toEqual({ openai: 40, anthropic: 30 });
  });

  it.each([
    ['not json', /is not JSON/],
    ['[1, 2]', /is not a price table/],
    ['{"m": {"input": -1, "output": 1}}', /at m\.input/],
    ['{"m": {"input": 1}}', /at m\.output/],
    ['{"m": {"input": 1, "output": 1, "cached": 0.5}}', /is not a price table/],
  ])('rejects MODEL_PRICES %j', (text, message) => {
    expect(parseModelPrices(text)).toEqual({ error: expect.stringMatching(message) });
    expect(() => loadSettings(monitorSettings, { MODEL_PRICES: text })).toThrow(ConfigError);
  });

  it.each([
    ['BATCH_DISCOUNT_PERCENT', '101'],
    ['BATCH_DISCOUNT_PERCENT', 'half'],
    ['OPENAI_BATCH_DISCOUNT_PERCENT', '-5'],
    ['MONITOR_ALERT_INTERVAL', 'often'],
  ])('names %s when it is %j', (variable, value) => {
    expect(() => loadSettings(monitorSettings, { [variable]: value })).toThrow(new RegExp(`^${variable}: `));
  });

  it('treats read-only admin tokens as secrets', () => {
    const config = loadSettings(monitorSettings, {
      ADMIN_TOKENS: 'operator-token',
      ADMIN_READONLY_TOKENS: 'reader-a, reader-b',
    });
    expect(config.ADMIN_READONLY_TOKENS).toEqual(['reader-a', 'reader-b']);
    expect(secretValues(monitorSettings, config)).toEqual(
      expect.arrayContaining(['operator-token', 'reader-a', 'reader-b']),
    );
  });
});
