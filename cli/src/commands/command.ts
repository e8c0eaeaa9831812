import type { ParseArgsConfig } from 'node:util';

/** One `batchline` command: its help text, its options (node:util parseArgs) and what it does. */
export interface Command {
  name: string;
  usage: string;
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Extra help lines after the summary. */
  details?: string[];
  run(args: { positionals: string[]; values: Record<string, string | boolean | undefined> }): Promise<void>;
}
