import { describe, expect, it } from 'vitest';
import { ConfigError, formatDuration, loadConfig, PROVIDER_API_KEYS, parseDuration } from '../index.ts';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['26h', 93_600_000],
    ['2d', 172_800_000],
    ['1.5s', 1500],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', 'm', '5 minutes', '-1s', '1w', 's5'])('rejects %j', (text) =>
    expect(parseDuration(text)).toBeNull(),
  );

  it('formats back to the shortest exact unit', () => {
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const config = loadConfig({});
    expect(config.NATS_URL).toEqual(['nats://127.0.0.1:4222']);
    expect(config.POLL_SCHEDULE).toEqual([60_000, 120_000, 300_000]);
    expect(config.POLL_CHUNK).toBe(10);
    expect(config.BATCH_MAX_AGE).toBe(26 * 3_600_000);
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.MONITOR_PORT).toBe(8080);
    expect(config.ADMIN_TOKENS).toEqual([]);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.SLACK_WEBHOOK_URL).toBeUndefined();
  });

  it('parses lists and durations', () => {
    const config = loadConfig({
      NATS_URL: 'nats://a:4222, nats://b:4222',
      POLL_SCHEDULE: '500ms,30s,5m,1h',
      ADMIN_TOKENS: 'one,two',
    });
    expect(config.NATS_URL).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(config.POLL_SCHEDULE).toEqual([500, 30_000, 300_000, 3_600_000]);
    expect(config.ADMIN_TOKENS).toEqual(['one', 'two']);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ SLACK_WEBHOOK_URL: '' }).SLACK_WEBHOOK_URL).toBeUndefined();
  });

  it.each([
    ['POLL_SCHEDULE', '1m,soon'],
    ['POLL_CHUNK', '0'],
    ['POLL_CHUNK', 'ten'],
    ['BATCH_MAX_AGE', 'forever'],
    ['DATABASE_URL', 'mysql://x'],
    ['SLACK_WEBHOOK_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['MONITOR_PORT', '70000'],
  ])('names %s when it is %j', (variable, value) => {
    let error: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toMatch(new RegExp(`^${variable}: `));
  });

  it('never echoes a secret value in its error', () => {
    const secret = 'postgres-secret-password';
    expect(() => loadConfig({ DATABASE_URL: `mysql://u:${secret}@h/db` })).toThrow(ConfigError);
    try {
      loadConfig({ DATABASE_URL: `mysql://u:${secret}@h/db` });
    } catch (error) {
      expect(String(error)).not.toContain(secret);
    }
  });

  it('reports a required variable that is missing', () => {
    expect(() => loadConfig({}, { require: ['DATABASE_URL'] })).toThrow(
      /^DATABASE_URL: is not set\. Set it to a Postgres URL/,
    );
  });

  it('accepts any one of a list of required variables, and names them all when none is set', () => {
    expect(() => loadConfig({}, { require: [PROVIDER_API_KEYS] })).toThrow(
      /^OPENAI_API_KEY: is not set, nor is ANTHROPIC_API_KEY\. Set at least one of them\./,
    );
    expect(
      loadConfig({ ANTHROPIC_API_KEY: 'sk-ant-x' }, { require: [PROVIDER_API_KEYS] }).OPENAI_API_KEY,
    ).toBe(undefined);
    expect(loadConfig({ OPENAI_API_KEY: 'sk-x' }, { require: [PROVIDER_API_KEYS] }).OPENAI_API_KEY).toBe(
      'sk-x',
    );
  });
});
