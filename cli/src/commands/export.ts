import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import {
  DbError,
  EXPORT_CONTENTS,
  EXPORT_FORMATS,
  type ExportContent,
  type ExportFormat,
  openScopeExport,
  parseScopeKey,
} from '@batchline/db';
import { commandContext, withDatabase } from '../context.ts';
import { CommandError, UsageError } from '../errors.ts';
import type { Command } from './command.ts';

const oneOf = <T extends string>(option: string, value: unknown, allowed: readonly T[]): T => {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`export: --${option} must be one of ${allowed.join(', ')}`);
};

/**
 * `batchline export ID`: a batch's or job's request outcomes or landed rows as CSV or JSONL, streamed from Postgres
 * to stdout or a file (written beside it and renamed when complete, so a failed export leaves no partial file).
 */
export const exportCommand: Command = {
  name: 'export',
  usage: 'batchline export ID --what rows|outcomes|answers --format csv|jsonl [--output FILE]',
  summary: "Writes a batch's or a job's request outcomes or landed rows as CSV or JSONL",
  details: [
    '',
    "ID is a batch log id (123) or a job (job-45). --what outcomes: each request's final outcome (for a job:",
    'succeeded if any round succeeded, else its latest failure); --what rows: the rows its results landed in the',
    "job type's target table; --what answers: each result line as the provider returned it (custom_id,",
    'batch_log_id, answer), kept for job types declaring keepRawAnswers. Written to stdout unless --output names a file.',
  ],
  options: {
    what: { type: 'string' },
    format: { type: 'string' },
    output: { type: 'string' },
  },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new UsageError('export: give one ID (a batch log id or job-<id>)');
    const scope = parseScopeKey(positionals[0]!);
    if (!scope) throw new UsageError(`export: ${positionals[0]} is neither a batch log id nor job-<id>`);
    const what = oneOf<ExportContent>('what', values.what, EXPORT_CONTENTS);
    const format = oneOf<ExportFormat>('format', values.format, EXPORT_FORMATS);
    const output = typeof values.output === 'string' ? values.output : null;
    const context = commandContext(true);
    await withDatabase(context, async (pool) => {
      const stream = await openScopeExport(pool, context.jobTypes, { scope, what, format }).catch(
        (error: unknown) => {
          throw error instanceof DbError ? new CommandError(error.message) : error;
        },
      );
      if (output === null) {
        await pipeline(stream, process.stdout, { end: false });
        return;
      }
      const partial = `${output}.partial`;
      try {
        await pipeline(stream, createWriteStream(partial, { flags: 'w' }));
        await rename(partial, output);
      } catch (error) {
        await rm(partial, { force: true });
        throw new CommandError(`export to ${output} failed: ${(error as Error).message}`);
      }
    });
  },
};
