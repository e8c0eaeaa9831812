import { integer, ProviderSettings, ServiceSettings, type Settings, setting } from '@batchline/config';

/** Every variable the fetcher reads (`batchline run fetcher --help` lists them). */
export const fetcherSettings = {
  ...ServiceSettings,
  ...ProviderSettings,
  RESULTS_CHUNK_RECORDS: setting(integer(1, 10_000), {
    description: 'most request outcomes in one batch.results.parsed message (also capped at 512 KiB)',
    default: '5000',
  }),
  FETCHER_CONCURRENCY: setting(integer(1, 16), {
    description: 'batches one fetcher downloads at once',
    default: '2',
  }),
};
export type FetcherSettings = Settings<typeof fetcherSettings>;
