import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  commaList,
  defaultRetryPolicy,
  describeSettings,
  formatDuration,
  httpUrl,
  integer,
  loadSettings,
  PollScheduleSettings,
  PROVIDER_API_KEYS,
  PricingSettings,
  ProviderSettings,
  parseDuration,
  type Requirement,
  RetryPolicySettings,
  ServiceSettings,
  secretValues,
  setting,
} from '../index.ts';

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

/** A process reading the shared groups, as a service composes them. */
const shape = {
  ...ServiceSettings,
  ...ProviderSettings,
  ...PollScheduleSettings,
  ...PricingSettings,
  POLL_CHUNK: setting(integer(1, 1000), { description: 'most batches checked at a time', default: '10' }),
  ADMIN_TOKENS: setting(commaList, { description: 'tokens', default: '', secret: true }),
  SLACK_WEBHOOK_URL: setting(httpUrl, { description: 'webhook', secret: true }),
};
const load = (env: NodeJS.ProcessEnv, require: Requirement<typeof shape>[] = []) =>
  loadSettings(shape, env, { require });

describe('loadSettings', () => {
  it('applies the documented defaults', () => {
    const config = load({});
    expect(config.NATS_URL).toEqual(['nats://127.0.0.1:4222']);
    expect(config.POLL_SCHEDULE).toEqual([60_000, 120_000, 300_000]);
    expect(config.POLL_CHUNK).toBe(10);
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.ADMIN_TOKENS).toEqual([]);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.SLACK_WEBHOOK_URL).toBeUndefined();
    expect(config.STREAM_MAX_AGE).toBe(14 * 86_400_000);
    expect(config.BATCHLINE_NAMESPACE).toBe('');
  });

  it('parses lists and durations', () => {
    const config = load({
      NATS_URL: 'nats://a:4222, nats://b:4222',
      POLL_SCHEDULE: '500ms,30s,5m,1h',
      ADMIN_TOKENS: 'one,two',
    });
    expect(config.NATS_URL).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(config.POLL_SCHEDULE).toEqual([500, 30_000, 300_000, 3_600_000]);
    expect(config.ADMIN_TOKENS).toEqual(['one', 'two']);
  });

  it('treats empty strings as unset', () => {
    expect(load({ SLACK_WEBHOOK_URL: '' }).SLACK_WEBHOOK_URL).toBeUndefined();
  });

  it('reads only the variables of its shape', () => {
    expect(load({ MONITOR_PORT: 'not a port' })).not.toHaveProperty('MONITOR_PORT');
  });

  it.each([
    ['POLL_SCHEDULE', '1m,soon'],
    ['POLL_CHUNK', '0'],
    ['POLL_CHUNK', 'ten'],
    ['STREAM_MAX_AGE', 'forever'],
    ['DATABASE_URL', 'mysql://x'],
    ['SLACK_WEBHOOK_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['HEALTH_PORT', '70000'],
  ])('names %s when it is %j', (variable, value) => {
    let error: unknown;
    try {
      load({ [variable]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toMatch(new RegExp(`^${variable}: `));
  });

  it('never echoes a secret value in its error', () => {
    const secret = 'postgres-secret-password';
    expect(() => load({ DATABASE_URL: `mysql://u:${secret}@h/db` })).toThrow(ConfigError);
    try {
      load({ DATABASE_URL: `mysql://u:${secret}@h/db` });
    } catch (error) {
      expect(String(error)).not.toContain(secret);
    }
  });

  it('reports a required variable that is missing', () => {
    expect(() => load({}, ['DATABASE_URL'])).toThrow(/^DATABASE_URL: is not set\. Set it to a Postgres URL/);
  });

  it('accepts any one of a list of required variables, and names them all when none is set', () => {
    expect(() => load({}, [PROVIDER_API_KEYS])).toThrow(
      /^OPENAI_API_KEY: is not set, nor is ANTHROPIC_API_KEY\. Set at least one of them\./,
    );
    expect(load({ ANTHROPIC_API_KEY: 'sk-ant-x' }, [PROVIDER_API_KEYS]).OPENAI_API_KEY).toBe(undefined);
    expect(load({ OPENAI_API_KEY: 'sk-x' }, [PROVIDER_API_KEYS]).OPENAI_API_KEY).toBe('sk-x');
  });

  it('lists the values of secret settings, lists included, for redaction', () => {
    const config = load({
      DATABASE_URL: 'postgres://u:pw@h/db',
      OPENAI_API_KEY: 'sk-x',
      ANTHROPIC_API_KEY: 'sk-ant-x',
      ADMIN_TOKENS: 'one,two',
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x',
    });
    expect(secretValues(shape, config).sort()).toEqual(
      [
        'postgres://u:pw@h/db',
        'sk-x',
        'sk-ant-x',
        'one',
        'two',
        'https://hooks.slack.com/services/T/B/x',
      ].sort(),
    );
  });

  it('describes each variable with its default as written in the environment', () => {
    const described = describeSettings(shape, ['DATABASE_URL', PROVIDER_API_KEYS]);
    expect(described.find((d) => d.variable === 'POLL_SCHEDULE')).toEqual({
      variable: 'POLL_SCHEDULE',
      description: expect.stringContaining('status checks'),
      default: '1m,2m,5m',
      required: false,
    });
    expect(described.find((d) => d.variable === 'DATABASE_URL')).toMatchObject({
      default: null,
      required: true,
    });
    expect(described.find((d) => d.variable === 'ANTHROPIC_API_KEY')).toMatchObject({ required: true });
    expect(described.every((d) => d.description.length > 0)).toBe(true);
  });
});

describe('RetryPolicySettings', () => {
  const loadRetry = (env: NodeJS.ProcessEnv) => defaultRetryPolicy(loadSettings(RetryPolicySettings, env));

  it('defaults to the documented policy', () => {
    expect(loadRetry({})).toEqual({
      codes: [
        'http_429',
        'http_5xx',
        'batch_expired',
        'missing_result',
        'rate_limit_exceeded',
        'server_error',
      ],
      maxRounds: 3,
      delayMs: 60_000,
    });
  });

  it('refuses invalid_custom_id and malformed codes, naming the variable', () => {
    expect(() => loadRetry({ RETRY_CODES: 'http_5xx,invalid_custom_id' })).toThrow(
      /RETRY_CODES: "invalid_custom_id" is never retryable/,
    );
    expect(() => loadRetry({ RETRY_CODES: 'HTTP 500' })).toThrow(
      /RETRY_CODES: "HTTP 500" is not an error code/,
    );
    expect(() => loadRetry({ RETRY_MAX_ROUNDS: '21' })).toThrow(/RETRY_MAX_ROUNDS/);
    expect(loadRetry({ RETRY_CODES: 'http_429', RETRY_MAX_ROUNDS: '0', RETRY_DELAY: '5s' })).toEqual({
      codes: ['http_429'],
      maxRounds: 0,
      delayMs: 5000,
    });
  });
});
