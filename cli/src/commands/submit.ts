import { resolve } from 'node:path';
import { commandContext, providerFor, withDatabase } from '../context.ts';
import { UsageError } from '../errors.ts';
import { readReviewSentences, submitSentences } from '../submission.ts';
import type { Command } from './command.ts';

export const submitCommand: Command = {
  name: 'submit',
  usage: 'batchline submit --input FILE [--model M] [--provider openai|anthropic]',
  summary:
    'builds the provider request file from review sentences, uploads it, creates the batch and records a pending batch log',
  details: [
    'FILE is JSONL, one {"review_sentence_id": <positive integer>, "text": "<sentence>"} a line.',
    'Inputs over the provider limits (OpenAI: 50,000 requests or 200 MB a file; Anthropic: 100,000 requests',
    'or 256 MB a batch) become several batches. A review_sentence_id given twice refuses the whole file.',
    'Prints the batch log id and the provider batch id of each batch.',
  ],
  options: {
    input: { type: 'string' },
    model: { type: 'string' },
    provider: { type: 'string', default: 'openai' },
  },
  async run({ values, positionals }) {
    if (typeof values.input !== 'string' || positionals.length > 0)
      throw new UsageError('submit needs --input FILE');
    const context = commandContext(true);
    const provider = providerFor(context, String(values.provider));
    const sentences = await readReviewSentences(resolve(values.input));
    const batches = await withDatabase(context, (pool) =>
      submitSentences({
        pool,
        provider,
        sentences,
        model:
          typeof values.model === 'string'
            ? values.model
            : provider.name === 'anthropic'
              ? context.config.BATCHLINE_ANTHROPIC_MODEL
              : context.config.BATCHLINE_MODEL,
        firstPollDelayMs: context.config.POLL_SCHEDULE[0]!,
      }),
    );
    for (const batch of batches) {
      console.log(
        `batch log ${batch.batchLogId}\tprovider batch ${batch.providerBatchId}\t${batch.requests} requests`,
      );
    }
  },
};
