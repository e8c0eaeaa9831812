import { ConfigError, loadSettings, secretValues } from '@batchline/config';
import { describe, expect, it } from 'vitest';
import { notifierSettings } from '../src/settings.ts';

describe('notifier settings', () => {
  it('defaults: no critical webhook, 10 s timeout, backoff up to 30 s, digest of more than 10 in a minute', () => {
    const config = loadSettings(notifierSettings, {});
    expect(config.SLACK_CRITICAL_WEBHOOK_URL).toBeUndefined();
    expect(config.SLACK_TIMEOUT).toBe(10_000);
    expect(config.SLACK_RETRY_SCHEDULE).toEqual([1_000, 2_000, 5_000, 15_000, 30_000]);
    expect(config.SLACK_DIGEST_THRESHOLD).toBe(10);
    expect(config.SLACK_DIGEST_WINDOW).toBe(60_000);
    expect(config.BATCHLINE_CRASHPOINT).toBeUndefined();
  });

  it('reads every notifier variable', () => {
    const config = loadSettings(notifierSettings, {
      SLACK_CRITICAL_WEBHOOK_URL: 'https://hooks.slack.com/services/T1/B2/critical',
      SLACK_TIMEOUT: '3s',
      SLACK_RETRY_SCHEDULE: '500ms,2s',
      SLACK_DIGEST_THRESHOLD: '5',
      SLACK_DIGEST_WINDOW: '2m',
      BATCHLINE_CRASHPOINT: 'notifier.after_slack_200_before_mark:2',
    });
    expect(config).toMatchObject({
      SLACK_CRITICAL_WEBHOOK_URL: 'https://hooks.slack.com/services/T1/B2/critical',
      SLACK_TIMEOUT: 3_000,
      SLACK_RETRY_SCHEDULE: [500, 2_000],
      SLACK_DIGEST_THRESHOLD: 5,
      SLACK_DIGEST_WINDOW: 120_000,
      BATCHLINE_CRASHPOINT: 'notifier.after_slack_200_before_mark:2',
    });
  });

  it('treats the critical webhook as a secret', () => {
    const config = loadSettings(notifierSettings, {
      SLACK_CRITICAL_WEBHOOK_URL: 'https://hooks.slack.com/services/T1/B2/critical',
    });
    expect(secretValues(notifierSettings, config)).toContain(
      'https://hooks.slack.com/services/T1/B2/critical',
    );
  });

  it.each([
    ['SLACK_CRITICAL_WEBHOOK_URL', 'hooks.slack.com/services/x'],
    ['SLACK_TIMEOUT', 'forever'],
    ['SLACK_RETRY_SCHEDULE', '1s,,2s'],
    ['SLACK_DIGEST_THRESHOLD', '0'],
    ['SLACK_DIGEST_WINDOW', '-1m'],
    ['BATCHLINE_CRASHPOINT', 'kill me'],
    ['BATCHLINE_CRASHPOINT', 'notifier.after_send:0'],
  ])('names %s when it is %j', (variable, value) => {
    let error: unknown;
    try {
      loadSettings(notifierSettings, { [variable]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
  });

  it('does not echo a malformed critical webhook (it is a credential)', () => {
    expect(() =>
      loadSettings(notifierSettings, { SLACK_CRITICAL_WEBHOOK_URL: 'hooks.slack.com/services/T1/B2/secret' }),
    ).toThrow(expect.not.objectContaining({ message: expect.stringContaining('secret') }));
  });
});
