import { integer, ServiceSettings, type Settings, setting } from '@batchline/config';

/** Every variable the persister reads (`batchline run persister --help` lists them). */
export const persisterSettings = {
  ...ServiceSettings,
  PERSISTER_CONCURRENCY: setting(integer(1, 64), {
    description: 'result chunks one persister writes at once',
    default: '4',
  }),
};
export type PersisterSettings = Settings<typeof persisterSettings>;
