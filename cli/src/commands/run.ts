import { runService, type ServiceDefinition } from '@batchline/runtime';
import { UsageError } from '../errors.ts';
import type { Command } from './command.ts';

/** Each service's definition, imported only by the process that runs it. */
export const SERVICES: Record<string, () => Promise<ServiceDefinition>> = {
  poller: async () => (await import('@batchline/poller')).pollerService,
  fetcher: async () => (await import('@batchline/fetcher')).fetcherService,
  persister: async () => (await import('@batchline/persister')).persisterService,
  notifier: async () => (await import('@batchline/notifier')).notifierService,
  monitor: async () => (await import('@batchline/monitor')).monitorService,
};

export const runCommand: Command = {
  name: 'run',
  usage: 'batchline run <poller|fetcher|persister|notifier|monitor>',
  summary: 'runs one service in the foreground; SIGTERM or SIGINT drains in-flight work and exits 0',
  options: {},
  async run({ positionals }) {
    const [name, ...rest] = positionals;
    const load = name !== undefined && Object.hasOwn(SERVICES, name) ? SERVICES[name] : undefined;
    if (!load || rest.length > 0) {
      throw new UsageError(`run takes one service name: ${Object.keys(SERVICES).join(', ')}`);
    }
    await runService(await load());
  },
};
