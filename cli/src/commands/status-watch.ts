import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BatchLog,
  getBatchJob,
  getBatchLog,
  listBatchLogs,
  listJobBatchLogs,
  type Pool,
  readBatchJobFigures,
} from '@batchline/db';
import { BatchStatus, batchStatusName } from '@batchline/domain';
import { CommandError } from '../errors.ts';
import {
  changedLines,
  jobJson,
  jobLine,
  redraw,
  type StatusTarget,
  type WatchFrame,
  watchLine,
} from '../status-view.ts';

/** What one look at the watched job or batches found: the frame to show, and whether the watch is over. */
interface Look {
  frame: WatchFrame;
  ended: string | null;
}

const batchFrame = (batches: readonly BatchLog[]): [string, string][] =>
  batches.map((batch) => [`batch ${batch.id}`, watchLine(batch)]);

async function lookAtJob(pool: Pool, id: number): Promise<Look> {
  const job = await getBatchJob(pool, id);
  if (!job) throw new CommandError(`job ${id} does not exist`);
  const [figures] = await readBatchJobFigures(pool, [id]);
  const shown = jobJson(job, figures);
  // Its retry rounds appear as they are made: the job's batches are read again at every look.
  const frame = new Map([['job', jobLine(shown)], ...batchFrame(await listJobBatchLogs(pool, id))]);
  return { frame, ended: job.finalizedAt === null ? null : `job-${id} ended: ${job.outcome}` };
}

async function lookAtBatches(pool: Pool, ids: readonly number[]): Promise<Look> {
  const batches: BatchLog[] = [];
  for (const id of ids) {
    const batch = await getBatchLog(pool, id);
    if (!batch) throw new CommandError(`batch log ${id} does not exist`);
    batches.push(batch);
  }
  const final = batches.every((batch) => batch.status !== BatchStatus.pending);
  const ended = !final
    ? null
    : ids.length === 1
      ? `batch log ${ids[0]} ended: ${batchStatusName(batches[0]!.status)}`
      : 'every watched batch is final';
  return { frame: new Map(batchFrame(batches)), ended };
}

/**
 * Follows a job, a batch, or (no target) the batches pending when it starts, until they end: redrawn in place on a
 * terminal, a line per change otherwise. Ctrl-C stops it between looks (exit code 130, the pool closed by the caller).
 */
export async function watchStatus(
  pool: Pool,
  target: StatusTarget | null,
  intervalMs: number,
): Promise<void> {
  let look: () => Promise<Look>;
  if (target !== null && 'job' in target) look = () => lookAtJob(pool, target.job);
  else {
    const ids =
      target !== null
        ? [target.batchLog]
        : (await listBatchLogs(pool, { limit: 1000, status: 'pending' })).map((batch) => batch.id).reverse();
    if (ids.length === 0) {
      console.log('no pending batches to watch');
      return;
    }
    look = () => lookAtBatches(pool, ids);
  }

  const interrupted = new AbortController();
  const stop = () => interrupted.abort();
  process.once('SIGINT', stop);
  const terminal = process.stdout.isTTY === true;
  let shown: WatchFrame = new Map();
  try {
    for (;;) {
      const { frame, ended } = await look();
      const changed = changedLines(shown, frame);
      if (!terminal) for (const line of changed) console.log(line);
      // Redrawn only when something changed (a batch gone from the frame changes its size): no flicker.
      else if (changed.length > 0 || frame.size !== shown.size)
        process.stdout.write(redraw(shown.size, frame, process.stdout.columns || 80));
      shown = frame;
      if (ended !== null) {
        console.log(ended);
        return;
      }
      await sleep(intervalMs, undefined, { signal: interrupted.signal }).catch(() => undefined);
      if (interrupted.signal.aborted) {
        process.exitCode = 130;
        return;
      }
    }
  } finally {
    process.off('SIGINT', stop);
  }
}
