import { resolve } from 'node:path';
import { type JobType, readJobTypeFile } from '@batchline/job-types';
import { commandContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { formatTable } from '../table.ts';
import type { Command } from './command.ts';

const jobTypeJson = (jobType: JobType) => ({
  name: jobType.name,
  endpoint: jobType.endpoint,
  targetTable: jobType.target.name,
  source: jobType.source,
});

/** The job types as a table, or (--json) as an array of `{name, endpoint, targetTable, source}`. */
const jobTypeList = (jobTypes: readonly JobType[], json: boolean): string =>
  json
    ? JSON.stringify(jobTypes.map(jobTypeJson), null, 2)
    : formatTable(
        ['name', 'endpoint', 'target table', 'source'],
        jobTypes.map((jobType) => [jobType.name, jobType.endpoint, jobType.target.name, jobType.source]),
      );

export const jobTypesCommand: Command = {
  name: 'job-types',
  usage: 'batchline job-types [--check FILE] [--json]',
  summary: 'lists the job types in force (built in and BATCHLINE_JOB_TYPES), or validates a declaration file',
  details: [
    'Without options: a table of each job type’s name, endpoint, target table and the file declaring it.',
    '--check FILE validates one JSON or YAML declaration file (docs/job-types.md) on its own and prints the job',
    'types it declares, or the first problem (naming the file, the job type and the field), exit 1.',
    '--json: an array of {name, endpoint, targetTable, source} (with --check, only the array, no "valid" line).',
  ],
  options: { check: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }) {
    if (positionals.length > 0) throw new UsageError('job-types takes no arguments (only --check FILE)');
    const json = values.json === true;
    if (typeof values.check === 'string') {
      // The file is checked on its own: a declaration being written need not be in BATCHLINE_JOB_TYPES yet.
      const file = resolve(values.check);
      const declared = readJobTypeFile(file);
      if (!json) console.log(`${file}: ${declared.length} job type(s), valid`);
      console.log(jobTypeList(declared, json));
      return;
    }
    const { jobTypes } = commandContext(false);
    console.log(jobTypeList(jobTypes.all(), json));
  },
};
