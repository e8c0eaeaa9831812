/**
 * The monitor bench's seed: a year of a large user. Every row comes from `batchOf`, a pure function of the batch
 * number, so the bench knows what each route must answer without asking the database: jobs and batch logs are
 * COPYed from text generated from it, request results generated in Postgres from the batch logs (SEED_RESULTS).
 *
 * Per 100 batch logs: one still running (no results yet), the rest completed, every 37th expired (failed); one with
 * 100 requests, the others 50; g % 7 of a batch's requests failed. A job is one batch, except: batches g % 10 = 1
 * and 2 are the two parts of one job, and batch g % 100 = 55 is the retry round of batch g − 1's failures (when it
 * had any). Every 100,000th batch (g % 100,000 = 50,007) is a large one of 50,000 requests, 1 % failed, so a deep
 * page of requests exists.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const HOUR_MS = 3_600_000;
const SPAN_MS = (29 * 24 + 20) * HOUR_MS;
export const LARGE_BATCH_REQUESTS = 50_000;

export interface SeedBatch {
  id: number;
  jobId: number;
  partIndex: number | null;
  retryRound: number;
  parentId: number | null;
  jobType: string;
  model: string;
  running: boolean;
  expired: boolean;
  requests: number;
  failed: number;
  createdMs: number;
  /** The review sentence id of each request, in order (a retry round's are its parent's failed ones). */
  sentenceOf: (i: number) => number;
  /** Whether request i (1-based) failed, and its code. */
  failedAt: (i: number) => boolean;
}

export const errorCodeOf = (i: number): string => (i % 2 === 0 ? 'invalid_content' : 'server_error');

/** What the seed holds at a given scale, batch by batch. */
export class MonitorSeed {
  readonly batches: number;
  readonly now = Date.now();

  constructor(batches: number) {
    this.batches = batches;
  }

  private createdOf(g: number): number {
    return this.now - 2 * HOUR_MS - (g / this.batches) * SPAN_MS;
  }

  private ownFailures(g: number): number {
    return g % 100 === 0 ? 0 : this.isLarge(g) ? LARGE_BATCH_REQUESTS / 100 : g % 7;
  }

  private isLarge(g: number): boolean {
    return g % 100_000 === 50_007;
  }

  isRetry(g: number): boolean {
    return g % 100 === 55 && this.ownFailures(g - 1) > 0;
  }

  batchOf(g: number): SeedBatch {
    const running = g % 100 === 0;
    const common = {
      id: g,
      jobType: g % 10 === 0 ? 'sentiment' : 'specific_viewpoint',
      model: g % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
      running,
      expired: !running && g % 37 === 0,
    };
    if (this.isRetry(g)) {
      const parent = g - 1;
      const requests = this.ownFailures(parent);
      return {
        ...common,
        jobType: parent % 10 === 0 ? 'sentiment' : 'specific_viewpoint',
        jobId: parent,
        partIndex: null,
        retryRound: 1,
        parentId: parent,
        requests,
        // The first request fails again when three or more were retried.
        failed: requests >= 3 ? 1 : 0,
        createdMs: this.createdOf(parent) + HOUR_MS,
        sentenceOf: (i) => parent * 1000 + i,
        failedAt: (i) => requests >= 3 && i === 1,
      };
    }
    const secondPart = g % 10 === 2;
    const requests = this.isLarge(g) ? LARGE_BATCH_REQUESTS : g % 100 === 1 ? 100 : 50;
    const failed = this.ownFailures(g);
    return {
      ...common,
      jobId: secondPart ? g - 1 : g,
      partIndex: secondPart ? 1 : g % 10 === 1 ? 0 : null,
      retryRound: 0,
      parentId: null,
      requests,
      failed,
      createdMs: secondPart ? this.createdOf(g - 1) + 1000 : this.createdOf(g),
      sentenceOf: (i) => (this.isLarge(g) ? g * 100_000 + i : g * 1000 + i),
      failedAt: (i) => i <= failed,
    };
  }

  /** The jobs, each with its batches, in batch order (a job's batches are consecutive). */
  *jobs(): Generator<SeedBatch[]> {
    let current: SeedBatch[] = [];
    for (let g = 1; g <= this.batches; g++) {
      const batch = this.batchOf(g);
      if (current.length > 0 && current[0]!.jobId !== batch.jobId) {
        yield current;
        current = [];
      }
      current.push(batch);
    }
    if (current.length > 0) yield current;
  }

  /** A job's figures as the admin API counts them: each request once, succeeded if any round succeeded. */
  static jobFigures(batches: readonly SeedBatch[]) {
    const succeeded = new Set<number>();
    const seen = new Set<number>();
    for (const batch of batches) {
      if (batch.running) continue;
      for (let i = 1; i <= batch.requests; i++) {
        const sentence = batch.sentenceOf(i);
        seen.add(sentence);
        if (!batch.failedAt(i)) succeeded.add(sentence);
      }
    }
    return {
      totalRequests: batches
        .filter((batch) => batch.retryRound === 0)
        .reduce((sum, b) => sum + b.requests, 0),
      succeededRequests: succeeded.size,
      failedRequests: seen.size - succeeded.size,
      finished: batches.every((batch) => !batch.running),
    };
  }

  /** The seed's totals: batch logs, jobs, request results. */
  totals() {
    let jobs = 0;
    let results = 0;
    for (const job of this.jobs()) {
      jobs += 1;
      for (const batch of job) if (!batch.running) results += batch.requests;
    }
    return { batches: this.batches, jobs, results };
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Joins generated lines into ~1 MB chunks, the unit COPY is fed in. */
function* chunked(lines: Iterable<string>): Generator<string> {
  let chunk = '';
  for (const line of lines) {
    chunk += line;
    if (chunk.length >= 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

async function copyLines(
  client: pg.ClientBase,
  table: string,
  columns: string,
  lines: Iterable<string>,
): Promise<number> {
  const copy = client.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN`));
  await pipeline(Readable.from(chunked(lines)), copy);
  return copy.rowCount;
}

function* jobLines(seed: MonitorSeed): Generator<string> {
  for (const job of seed.jobs()) {
    const first = job[0]!;
    const figures = MonitorSeed.jobFigures(job);
    const outcome = !figures.finished
      ? null
      : figures.failedRequests === 0
        ? 'succeeded'
        : figures.succeededRequests === 0
          ? 'failed'
          : 'partially_succeeded';
    const finalizedAt =
      outcome === null ? '\\N' : iso(Math.max(...job.map((b) => b.createdMs)) + 41 * 60_000);
    yield `${first.jobId}\t${first.jobType}\topenai\t${first.model}\tsubmit\t${figures.totalRequests}\t${
      outcome ?? '\\N'
    }\t${finalizedAt}\t${iso(first.createdMs)}\n`;
  }
}

function* batchLines(seed: MonitorSeed): Generator<string> {
  const nextPoll = iso(seed.now + HOUR_MS);
  for (let g = 1; g <= seed.batches; g++) {
    const b = seed.batchOf(g);
    const processed = b.running ? 0 : b.requests - b.failed;
    const failed = b.running ? 0 : b.failed;
    const status = b.running ? 1 : b.expired ? 9 : 2;
    const providerStatus = b.running ? 'in_progress' : b.expired ? 'expired' : 'completed';
    const terminal = b.running ? '\\N' : iso(b.createdMs + 40 * 60_000);
    const landed = b.running ? '\\N' : iso(b.createdMs + (41 + (g % 13)) * 60_000);
    const counts = `{"total": ${b.requests}, "completed": ${processed}, "failed": ${failed}}`;
    yield `${g}\tbatch_bench_${g}\topenai\t${b.jobType}\t${b.model}\t${b.requests}\t${processed}\t${failed}\t${status}\t${iso(
      b.createdMs,
    )}\t${providerStatus}\t${iso(b.createdMs + 5 * 60_000)}\t${terminal}\t${landed}\t${counts}\tfile-bench-${g}\t${nextPoll}\t${
      b.jobId
    }\t${b.partIndex ?? '\\N'}\t${b.retryRound}\t${b.parentId ?? '\\N'}\n`;
  }
}

function* retryLines(seed: MonitorSeed): Generator<string> {
  for (let g = 1; g <= seed.batches; g++) {
    if (!seed.isRetry(g)) continue;
    const b = seed.batchOf(g);
    yield `${b.parentId}\tsubmitted\t${g}\t${b.requests}\tbench\t${iso(b.createdMs - 60_000)}\t${iso(b.createdMs)}\n`;
  }
}

/** Copies the seed's jobs, batch logs and retries in; returns the rows copied. */
export async function copySeed(client: pg.ClientBase, seed: MonitorSeed) {
  const jobs = await copyLines(
    client,
    'batch_jobs',
    'id, job_type, provider, model, origin, total_requests, outcome, finalized_at, created_at',
    jobLines(seed),
  );
  const batches = await copyLines(
    client,
    'batch_jobs_vp_logs',
    `id, batch_id, provider, job_type, model, total_sentences, processed_sentences, failed_sentences, status,
     created_at, provider_status, provider_started_at, provider_terminal_at, results_landed_at, request_counts,
     input_file_id, next_poll_at, batch_job_id, part_index, retry_round, parent_batch_log_id`,
    batchLines(seed),
  );
  await copyLines(
    client,
    'batch_retries',
    'original_batch_log_id, state, retry_batch_log_id, requests, requested_by, requested_at, submitted_at',
    retryLines(seed),
  );
  // Ids were given: the sequences continue after them, as they would in production.
  await client.query(`SELECT setval(pg_get_serial_sequence('batch_jobs', 'id'), ${seed.batches}),
                             setval(pg_get_serial_sequence('batch_jobs_vp_logs', 'id'), ${seed.batches})`);
  return { jobs, batches };
}

/**
 * The request results of the final batches in `[from, to]`, written from their batch logs by one INSERT ... SELECT:
 * the same rows `batchOf` describes (a retry round's requests are its parent's first ones; the first
 * `failed_sentences` of a batch failed). Generated in Postgres, because COPY fed from generated text was 4× slower
 * on the loaded two-core machine (5,000,000 rows: 337 s against 77 s) — the text generation, not the COPY, is the cost.
 */
export const SEED_RESULTS = `
  INSERT INTO batch_request_results (batch_log_id, custom_id, outcome, error_code, review_sentence_id,
    prompt_tokens, completion_tokens, created_at)
  SELECT b.id, 'rs-' || s.sentence, CASE WHEN i <= b.failed_sentences THEN 'failed' ELSE 'succeeded' END,
         CASE WHEN i > b.failed_sentences THEN NULL WHEN i % 2 = 0 THEN 'invalid_content' ELSE 'server_error' END,
         s.sentence, 180 + i % 50, 8 + i % 5, b.results_landed_at
  FROM batch_jobs_vp_logs b, generate_series(1, b.total_sentences) i,
       LATERAL (SELECT COALESCE(b.parent_batch_log_id, b.id)
                       * CASE WHEN b.total_sentences = ${LARGE_BATCH_REQUESTS} THEN 100000 ELSE 1000 END + i
                       AS sentence) s
  WHERE b.status <> 1 AND b.id BETWEEN $1 AND $2`;
