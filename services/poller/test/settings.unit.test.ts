import { ConfigError, loadSettings, secretValues } from '@batchline/config';
import { describe, expect, it } from 'vitest';
import { pollerSettings } from '../src/settings.ts';

describe('poller settings', () => {
  it('have defaults', () => {
    const config = loadSettings(pollerSettings, {});
    expect(config).toMatchObject({
      POLL_ERROR_BACKOFF: [10_000, 30_000, 60_000, 300_000],
      POLL_RATE_LIMIT_PAUSE: 60_000,
      POLL_PROBE_INTERVAL: 60_000,
      POLL_NOT_FOUND_CONFIRM: 30_000,
      POLL_CANCEL_GRACE: 3_600_000,
      POLL_SWEEP_INTERVAL: 60_000,
      RESULTS_REDRIVE_AFTER: 900_000,
      POLL_STUCK_AFTER: 7_200_000,
      DELETE_PROVIDER_FILES: false,
    });
    expect(config.POLLER_WEBHOOK_PORT).toBeUndefined();
    expect(config.POLLER_SUMMARY_INTERVAL).toBeUndefined();
  });

  it('parse what operators write', () => {
    const config = loadSettings(pollerSettings, {
      POLL_ERROR_BACKOFF: '1s, 5s',
      POLL_STUCK_AFTER: '3h',
      DELETE_PROVIDER_FILES: 'true',
      POLLER_WEBHOOK_PORT: '9411',
      POLLER_SUMMARY_INTERVAL: '1h',
      OPENAI_WEBHOOK_SECRET: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=',
    });
    expect(config).toMatchObject({
      POLL_ERROR_BACKOFF: [1000, 5000],
      POLL_STUCK_AFTER: 10_800_000,
      DELETE_PROVIDER_FILES: true,
      POLLER_WEBHOOK_PORT: 9411,
      POLLER_SUMMARY_INTERVAL: 3_600_000,
    });
    expect(secretValues(pollerSettings, config)).toContain('whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=');
  });

  it('refuse nonsense, naming the variable', () => {
    expect(() => loadSettings(pollerSettings, { DELETE_PROVIDER_FILES: 'yes please' })).toThrow(ConfigError);
    expect(() => loadSettings(pollerSettings, { DELETE_PROVIDER_FILES: 'yes please' })).toThrow(
      /DELETE_PROVIDER_FILES/,
    );
    expect(() => loadSettings(pollerSettings, { POLL_ERROR_BACKOFF: '1s,soon' })).toThrow(
      /POLL_ERROR_BACKOFF/,
    );
    expect(() => loadSettings(pollerSettings, { POLLER_WEBHOOK_PORT: '70000' })).toThrow(
      /POLLER_WEBHOOK_PORT/,
    );
  });
});
