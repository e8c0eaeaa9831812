import { resolve } from 'node:path';
import { batcherSettings, policiesOf, readQueueView, requestFlush, setPaused } from '@batchline/batcher';
import { enqueuedRequestMsgId, Subjects } from '@batchline/events';
import { commandContext, jobTypeFor, withDatabase } from '../context.ts';
import { UsageError } from '../errors.ts';
import { readInputRecords } from '../submission.ts';
import { formatTable } from '../table.ts';
import { withBus } from './bus-command.ts';
import type { Command } from './command.ts';

/** Publishes in flight at once: enough to keep JetStream busy without holding a large file's worth of promises. */
const IN_FLIGHT = 256;

export const enqueueCommand: Command = {
  name: 'enqueue',
  usage: 'batchline enqueue --job-type NAME --input FILE [--model M]',
  summary: 'hands requests to the batcher (batch.requests.enqueued), which batches them when due',
  details: [
    'FILE is JSONL as for submit. Each line becomes one batch.requests.enqueued event; a request id already',
    'enqueued for that job type is one request (the batcher keeps the first). A malformed or repeated line',
    'refuses the whole file before anything is published. Prints how many were published and how many JetStream',
    'already had (sent again within two minutes).',
  ],
  options: {
    input: { type: 'string' },
    'job-type': { type: 'string' },
    model: { type: 'string' },
  },
  async run({ values, positionals }) {
    if (typeof values.input !== 'string' || typeof values['job-type'] !== 'string' || positionals.length > 0)
      throw new UsageError('enqueue needs --job-type NAME and --input FILE');
    const context = commandContext(false);
    const jobType = jobTypeFor(context, values['job-type'], 'openai');
    const records = await readInputRecords(resolve(values.input), jobType);
    const model = typeof values.model === 'string' ? values.model : undefined;
    const { published, duplicates } = await withBus(context, async (bus) => {
      let duplicate = 0;
      for (let start = 0; start < records.length; start += IN_FLIGHT) {
        const results = await Promise.all(
          records.slice(start, start + IN_FLIGHT).map((record) => {
            const event = {
              jobType: jobType.name,
              requestId: record.id,
              fields: { ...record.fields },
              ...(model === undefined ? {} : { model }),
            };
            return bus.publish(Subjects.requestsEnqueued, event, { msgId: enqueuedRequestMsgId(event) });
          }),
        );
        duplicate += results.filter((result) => result.duplicate).length;
      }
      return { published: records.length - duplicate, duplicates: duplicate };
    });
    console.log(`${published} requests enqueued for ${jobType.name}\t${duplicates} already enqueued`);
  },
};

export const batcherCommand: Command = {
  name: 'batcher',
  usage: 'batchline batcher status | batchline batcher <flush|pause|resume> --job-type NAME',
  summary: 'controls the batcher for a job type: batch its queue now, or pause/resume making its batches',
  details: [
    'flush: everything the job type has queued goes out at the batcher’s next tick, whatever BATCH_MIN_SIZE says',
    '(still within BATCH_MAX_REQUESTS, the provider limits and the daily budget).',
    'pause: no batch of the job type is made; requests are still taken in and kept. resume ends the pause.',
    'status: the queue per job type, provider and model: pending requests, the oldest one’s age, and when its next',
    'batch is due (read with the batcher’s settings: BATCH_CREATE_INTERVAL, BATCH_MIN_SIZE, BATCHER_JOB_TYPES …).',
  ],
  options: { 'job-type': { type: 'string' } },
  async run({ values, positionals }) {
    const [action] = positionals;
    if (action === 'status') {
      const context = commandContext(true, batcherSettings);
      const policies = policiesOf(context.config);
      const now = new Date();
      const groups = await withDatabase(context, (pool) => readQueueView(pool, policies, now));
      console.log(
        formatTable(
          ['job type', 'provider', 'model', 'pending', 'oldest waited', 'next batch due'],
          groups.map((group) => [
            group.jobType,
            group.provider,
            group.model,
            String(group.pending),
            `${Math.round((now.getTime() - group.oldestEnqueuedAt.getTime()) / 1000)}s`,
            group.paused ? 'paused' : group.nextBatchDueAt!.toISOString(),
          ]),
        ),
      );
      return;
    }
    if (!['flush', 'pause', 'resume'].includes(action ?? '') || typeof values['job-type'] !== 'string')
      throw new UsageError('batcher needs flush, pause or resume and --job-type NAME');
    const context = commandContext(true);
    const jobType = jobTypeFor(context, values['job-type'], 'openai');
    await withDatabase(context, (pool) =>
      action === 'flush'
        ? requestFlush(pool, jobType.name)
        : setPaused(pool, jobType.name, action === 'pause'),
    );
    console.log(`batcher ${action}: ${jobType.name}`);
  },
};
