import { parseArgs } from 'node:util';
import { ConfigError } from '@batchline/config';
import { redactSecretsIn } from '@batchline/logging';
import type { Command } from './commands/command.ts';
import { demoCommand } from './commands/demo.ts';
import { emulatorCommand } from './commands/emulator.ts';
import { migrateCommand } from './commands/migrate.ts';
import { runCommand } from './commands/run.ts';
import { statusCommand } from './commands/status.ts';
import { submitCommand } from './commands/submit.ts';
import { trackCommand } from './commands/track.ts';
import { upCommand } from './commands/up.ts';
import { CommandError, UsageError } from './errors.ts';

const COMMANDS: readonly Command[] = [
  migrateCommand,
  runCommand,
  upCommand,
  submitCommand,
  trackCommand,
  statusCommand,
  demoCommand,
  emulatorCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'batchline — lands the results of LLM batch jobs in Postgres exactly once',
    '',
    'usage: batchline <command> [options]   (batchline <command> --help for details)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Configuration comes from the environment; see the README.',
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

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview());
    return;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}" (batchline --help lists them)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(help(command));
    return;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`);
  }
  await command.run({
    positionals: parsed.positionals,
    values: parsed.values as Record<string, string | boolean | undefined>,
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const known = error instanceof UsageError || error instanceof CommandError || error instanceof ConfigError;
  console.error(`batchline: ${redactSecretsIn(known ? message : `unexpected error: ${message}`)}`);
  if (!known && process.env.LOG_LEVEL === 'debug' && error instanceof Error)
    console.error(redactSecretsIn(error.stack ?? ''));
  process.exit(error instanceof UsageError ? 2 : 1);
});
