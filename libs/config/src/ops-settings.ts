import { setting } from './setting.ts';
import { duration, httpUrl, integer } from './values.ts';

/**
 * Where the runbook is, and when database trouble becomes an operational message (one per episode, and one when
 * it is over). Every service reads them: each watches its own pool.
 */
export const DatabaseTroubleSettings = {
  OPS_RUNBOOK_URL: setting(httpUrl, {
    description:
      'address of docs/runbook.md as operators read it (each trouble message links to its section)',
    default: 'https://github.com/batchline/batchline/blob/main/docs/runbook.md',
  }),
  OPS_DATABASE_TROUBLE_AFTER: setting(duration, {
    description: 'database failures (connection, transaction, status update) lasting this long are announced',
    default: '2m',
  }),
};

/** When provider and queue trouble become operational messages. Read by the poller, which watches for them. */
export const OpsEpisodeSettings = {
  OPS_PROVIDER_OUTAGE_AFTER: setting(duration, {
    description:
      'a provider answering 5xx or timing out, with no success, this long is announced as unavailable',
    default: '5m',
  }),
  OPS_QUEUE_TROUBLE_AFTER: setting(duration, {
    description: 'a consumer lagging or the DLQ growing this long is announced as queue trouble',
    default: '5m',
  }),
  OPS_CONSUMER_LAG_MAX: setting(integer(1, 100_000_000), {
    description: 'messages a consumer may have outstanding before it counts as lagging',
    default: '1000',
  }),
};
