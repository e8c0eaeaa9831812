import { parseArgs } from 'node:util';
import { ConfigError } from '@batchline/config';
import { JobTypeError } from '@batchline/job-types';
import { redactSecretsIn } from '@batchline/logging';
import { ProviderError } from '@batchline/providers';
import type { Command } from './commands/command.ts';
import { CommandError, UsageError } from './errors.ts';

/**
 * Every command, loaded only when it runs: a service process (`batchline run persister`) then loads that service's
 * code and not every other command's (the emulator, the monitor, the local servers...), which keeps its memory small.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  migrate: async () => (await import('./commands/migrate.ts')).migrateCommand,
  'job-types': async () => (await import('./commands/job-types.ts')).jobTypesCommand,
  run: async () => (await import('./commands/run.ts')).runCommand,
  up: async () => (await import('./commands/up.ts')).upCommand,
  submit: async () => (await import('./commands/submit.ts')).submitCommand,
  enqueue: async () => (await import('./commands/enqueue.ts')).enqueueCommand,
  batcher: async () => (await import('./commands/enqueue.ts')).batcherCommand,
  track: async () => (await import('./commands/track.ts')).trackCommand,
  status: async () => (await import('./commands/status.ts')).statusCommand,
  retry: async () => (await import('./commands/retry.ts')).retryCommand,
  cancel: async () => (await import('./commands/batch-actions.ts')).cancelCommand,
  pause: async () => (await import('./commands/batch-actions.ts')).pauseCommand,
  resume: async () => (await import('./commands/batch-actions.ts')).resumeCommand,
  priority: async () => (await import('./commands/batch-actions.ts')).priorityCommand,
  poll: async () => (await import('./commands/poll.ts')).pollCommand,
  replay: async () => (await import('./commands/replay.ts')).replayCommand,
  export: async () => (await import('./commands/export.ts')).exportCommand,
  dlq: async () => (await import('./commands/dlq.ts')).dlqCommand,
  webhooks: async () => (await import('./commands/webhooks.ts')).webhooksCommand,
  demo: async () => (await import('./commands/demo.ts')).demoCommand,
  emulator: async () => (await import('./commands/emulator.ts')).emulatorCommand,
};

async function overview(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'batchline — lands the results of LLM batch jobs in Postgres exactly once',
    '',
    'usage: batchline <command> [options]   (batchline <command> --help for details)',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Configuration comes from the environment; see docs/configuration.md.',
  ].join('\n');
}

function help(command: Command): string {
  const options = Object.entries(command.options).map(
    ([name, spec]) => `  --${name}${spec.type === 'string' ? ' VALUE' : ''}`,
  );
  return [
    `usage: ${command.usage}`,
    '',
    command.summary,
    ...(command.details ?? []),
    ...(options.length ? ['', 'options:', ...options] : []),
  ].join('\n');
}

// A negative number (`priority 12 -5`) is an argument, never an option: parseArgs sees it behind a mark.
const SHIELD = '\u0000';
const shieldNegativeNumber = (arg: string): string => (/^-[0-9]/.test(arg) ? `${SHIELD}${arg}` : arg);
const unshield = (arg: string): string => (arg.startsWith(SHIELD) ? arg.slice(1) : arg);

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await overview());
    return;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) throw new UsageError(`unknown command "${name}" (batchline --help lists them)`);
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    const positionals = rest.filter((arg) => !arg.startsWith('-'));
    console.log((await command.helpFor?.(positionals)) ?? help(command));
    return;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest.map(shieldNegativeNumber),
      options: command.options,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`);
  }
  await command.run({
    positionals: parsed.positionals.map(unshield),
    values: Object.fromEntries(
      Object.entries(parsed.values).map(([key, value]) => [
        key,
        typeof value === 'string' ? unshield(value) : value,
      ]),
    ) as Record<string, string | boolean | undefined>,
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  // Configuration (variables, job type declarations), the user's own mistakes and a provider that refuses or cannot
  // be reached (no API key, wrong URL): one line, no stack.
  const known =
    error instanceof UsageError ||
    error instanceof CommandError ||
    error instanceof ConfigError ||
    error instanceof JobTypeError ||
    error instanceof ProviderError;
  console.error(`batchline: ${redactSecretsIn(known ? message : `unexpected error: ${message}`)}`);
  if (!known && process.env.LOG_LEVEL === 'debug' && error instanceof Error)
    console.error(redactSecretsIn(error.stack ?? ''));
  process.exit(error instanceof UsageError ? 2 : 1);
});
