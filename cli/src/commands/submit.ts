import { resolve } from 'node:path';
import { defaultRetryPolicy } from '@batchline/config';
import { DEFAULT_JOB_TYPE } from '@batchline/job-types';
import { commandContext, jobTypeFor, providerFor, withDatabase } from '../context.ts';
import { UsageError } from '../errors.ts';
import { readInputRecords, submitRequests } from '../submission.ts';
import type { Command } from './command.ts';

export const submitCommand: Command = {
  name: 'submit',
  usage: 'batchline submit --input FILE [--job-type NAME] [--model M] [--provider openai|anthropic]',
  summary:
    'builds the provider request file of a job type from its input, uploads it, creates the batch and records a pending batch log',
  details: [
    `FILE is JSONL, one object a line with the job type's input.id and input.fields (docs/job-types.md); for`,
    `the default job type, ${DEFAULT_JOB_TYPE}: {"review_sentence_id": <positive integer>, "text": "<sentence>"}.`,
    'A malformed or repeated id refuses the whole file, with its line number. --job-type names a job type in',
    'force (batchline job-types lists them). The model is --model, else the declaration’s request.model, else',
    'BATCHLINE_MODEL (BATCHLINE_ANTHROPIC_MODEL for Anthropic). Inputs over the provider limits (OpenAI: 50,000',
    'requests or 200 MB a file; Anthropic: 100,000 requests or 256 MB a batch; SUBMIT_MAX_REQUESTS_PER_FILE) become several batches.',
    'Prints the batch log id and the provider batch id of each batch, then the id of the batch job they are parts',
    'of (a line "batch job ID"), which keeps the retry policy in force (docs/job-types.md).',
  ],
  options: {
    input: { type: 'string' },
    'job-type': { type: 'string' },
    model: { type: 'string' },
    provider: { type: 'string', default: 'openai' },
  },
  async run({ values, positionals }) {
    if (typeof values.input !== 'string' || positionals.length > 0)
      throw new UsageError('submit needs --input FILE');
    const context = commandContext(true);
    const jobType = jobTypeFor(context, values['job-type'] as string | undefined, String(values.provider));
    const provider = providerFor(context, String(values.provider));
    const records = await readInputRecords(resolve(values.input), jobType);
    const model =
      typeof values.model === 'string'
        ? values.model
        : (jobType.declaration.request.model ??
          (provider.name === 'anthropic'
            ? context.config.BATCHLINE_ANTHROPIC_MODEL
            : context.config.BATCHLINE_MODEL));
    const { batchJobId, batches } = await withDatabase(context, (pool) =>
      submitRequests({
        pool,
        provider,
        jobType,
        records,
        model,
        firstPollDelayMs: context.config.POLL_SCHEDULE[0]!,
        defaultRetryPolicy: defaultRetryPolicy(context.config),
        maxRequestsPerFile: context.config.SUBMIT_MAX_REQUESTS_PER_FILE,
      }),
    );
    for (const batch of batches) {
      console.log(
        `batch log ${batch.batchLogId}\tprovider batch ${batch.providerBatchId}\t${batch.requests} requests`,
      );
    }
    // Its own line after the batch lines, which scripts read (contract §1).
    console.log(`batch job ${batchJobId}\t${records.length} requests\t${batches.length} batches`);
  },
};
