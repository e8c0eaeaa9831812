import type { ParseArgsConfig } from 'node:util';

/** One `batchline` command: its help text, its options (node:util parseArgs) and what it does. */
export interface Command {
  name: string;
  usage: string;
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Extra help lines after the summary. */
  details?: string[];
  /** Help that depends on the arguments (`run fetcher --help` lists the fetcher's variables); null: the usual. */
  helpFor?(positionals: string[]): Promise<string | null>;
  run(args: { positionals: string[]; values: Record<string, string | boolean | undefined> }): Promise<void>;
}
