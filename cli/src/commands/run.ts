import { fetcherService } from '@batchline/fetcher';
import { notifierService } from '@batchline/notifier';
import { persisterService } from '@batchline/persister';
import { pollerService } from '@batchline/poller';
import { runService, type ServiceDefinition } from '@batchline/runtime';
import { UsageError } from '../errors.ts';
import type { Command } from './command.ts';

export const SERVICES: Record<string, ServiceDefinition> = {
  poller: pollerService,
  fetcher: fetcherService,
  persister: persisterService,
  notifier: notifierService,
};

export const runCommand: Command = {
  name: 'run',
  usage: 'batchline run <poller|fetcher|persister|notifier>',
  summary: 'runs one service in the foreground; SIGTERM or SIGINT drains in-flight work and exits 0',
  options: {},
  async run({ positionals }) {
    const [name, ...rest] = positionals;
    const definition = name === undefined ? undefined : SERVICES[name];
    if (!definition || rest.length > 0) {
      throw new UsageError(`run takes one service name: ${Object.keys(SERVICES).join(', ')}`);
    }
    await runService(definition);
  },
};
