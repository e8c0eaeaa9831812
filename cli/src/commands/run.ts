import { describeSettings } from '@batchline/config';
import { runService, type ServiceDefinition } from '@batchline/runtime';
import { UsageError } from '../errors.ts';
import { formatTable } from '../table.ts';
import type { Command } from './command.ts';

/** Each service's definition, imported only by the process that runs it. */
export const SERVICES: Record<string, () => Promise<ServiceDefinition>> = {
  poller: async () => (await import('@batchline/poller')).pollerService,
  fetcher: async () => (await import('@batchline/fetcher')).fetcherService,
  persister: async () => (await import('@batchline/persister')).persisterService,
  notifier: async () => (await import('@batchline/notifier')).notifierService,
  monitor: async () => (await import('@batchline/monitor')).monitorService,
  batcher: async () => (await import('@batchline/batcher')).batcherService,
};

/** `batchline run <service> --help`: the variables that service reads, with their defaults. */
export function serviceHelp(definition: ServiceDefinition): string {
  const rows = describeSettings(definition.settings, ['DATABASE_URL', ...(definition.requires ?? [])]).map(
    (s) => [s.variable, s.required ? 'required' : (s.default ?? 'unset'), s.description],
  );
  return [
    `usage: batchline run ${definition.name}`,
    '',
    `runs the ${definition.name} in the foreground; SIGTERM or SIGINT drains in-flight work and exits 0`,
    '',
    'environment (one of a list marked required is enough; see docs/configuration.md):',
    formatTable(['variable', 'default', 'meaning'], rows),
  ].join('\n');
}

const loadDefinition = (name: string | undefined) =>
  name !== undefined && Object.hasOwn(SERVICES, name) ? SERVICES[name] : undefined;

export const runCommand: Command = {
  name: 'run',
  usage: 'batchline run <poller|fetcher|persister|notifier|monitor|batcher>',
  summary: 'runs one service in the foreground; SIGTERM or SIGINT drains in-flight work and exits 0',
  details: ['`batchline run <service> --help` lists the variables that service reads.'],
  options: {},
  async helpFor([name]) {
    const load = loadDefinition(name);
    return load ? serviceHelp(await load()) : null;
  },
  async run({ positionals }) {
    const [name, ...rest] = positionals;
    const load = loadDefinition(name);
    if (!load || rest.length > 0) {
      throw new UsageError(`run takes one service name: ${Object.keys(SERVICES).join(', ')}`);
    }
    await runService(await load());
  },
};
