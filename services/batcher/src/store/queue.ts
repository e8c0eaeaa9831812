import type { Queryable } from '@batchline/db';

/** A request ready to queue: its request line already built for its provider and model. */
export interface QueuedLine {
  jobType: string;
  requestId: string;
  provider: string;
  model: string;
  line: string;
  estimatedTokens: number;
}

/**
 * Queues requests in one statement (one round trip, one commit); returns how many were new. A request whose job
 * type already has one with its id is not queued again, nor is the second of two with one id among `requests`
 * (Postgres refuses `ON CONFLICT` touching one row twice in a statement, so those are dropped here, first kept).
 */
export async function queueRequests(db: Queryable, requests: readonly QueuedLine[]): Promise<number> {
  const unique = new Map<string, QueuedLine>();
  for (const request of requests) {
    const key = `${request.jobType}\n${request.requestId}`;
    if (!unique.has(key)) unique.set(key, request);
  }
  const rows = [...unique.values()];
  // The lines go as one text, one a line (a JSON text has no raw newline): as a text[] parameter, the driver would
  // escape every quote of every line, most of what intake allocated.
  const result = await db.query(
    `INSERT INTO batcher_requests (job_type, request_id, provider, model, line, line_bytes, estimated_tokens)
     SELECT r.job_type, r.request_id, r.provider, r.model, r.line, octet_length(r.line), r.estimated_tokens
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], string_to_array($5, E'\\n'), $6::int[])
       AS r (job_type, request_id, provider, model, line, estimated_tokens)
     ON CONFLICT (job_type, request_id) DO NOTHING`,
    [
      rows.map((row) => row.jobType),
      rows.map((row) => row.requestId),
      rows.map((row) => row.provider),
      rows.map((row) => row.model),
      rows.map((row) => row.line).join('\n'),
      rows.map((row) => row.estimatedTokens),
    ],
  );
  return result.rowCount ?? 0;
}

/** One group of pending requests: same job type, provider and model. */
export interface GroupKey {
  jobType: string;
  provider: string;
  model: string;
}

export interface PendingGroupRow extends GroupKey {
  pending: number;
  oldestEnqueuedAt: Date;
}

/** Every group with pending requests, its size and the age of its oldest request. */
export async function listPendingGroups(db: Queryable): Promise<PendingGroupRow[]> {
  const { rows } = await db.query<{
    job_type: string;
    provider: string;
    model: string;
    pending: string;
    oldest: Date;
  }>(
    `SELECT job_type, provider, model, count(*) AS pending, min(enqueued_at) AS oldest
     FROM batcher_requests WHERE planned_batch_id IS NULL
     GROUP BY job_type, provider, model ORDER BY min(enqueued_at)`,
  );
  return rows.map((row) => ({
    jobType: row.job_type,
    provider: row.provider,
    model: row.model,
    pending: Number(row.pending),
    oldestEnqueuedAt: row.oldest,
  }));
}

/** One group's pending requests now (counted in the planning transaction), or null when it has none. */
export async function pendingGroupOf(
  db: Queryable,
  group: GroupKey,
): Promise<{ pending: number; oldestEnqueuedAt: Date } | null> {
  const { rows } = await db.query<{ pending: string; oldest: Date | null }>(
    `SELECT count(*) AS pending, min(enqueued_at) AS oldest FROM batcher_requests
     WHERE planned_batch_id IS NULL AND job_type = $1 AND provider = $2 AND model = $3`,
    [group.jobType, group.provider, group.model],
  );
  const row = rows[0];
  return row?.oldest ? { pending: Number(row.pending), oldestEnqueuedAt: row.oldest } : null;
}

/** The group's pending requests in queue order, locked (others skip them), at most `limit`. */
export async function lockPendingRequests(
  db: Queryable,
  group: GroupKey,
  limit: number,
): Promise<{ id: number; lineBytes: number; estimatedTokens: number }[]> {
  const { rows } = await db.query<{ id: string; line_bytes: number; estimated_tokens: number }>(
    `SELECT id, line_bytes, estimated_tokens FROM batcher_requests
     WHERE planned_batch_id IS NULL AND job_type = $1 AND provider = $2 AND model = $3
     ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED`,
    [group.jobType, group.provider, group.model, limit],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    lineBytes: row.line_bytes,
    estimatedTokens: row.estimated_tokens,
  }));
}

/** Puts the locked requests into a planned batch. */
export async function assignRequests(db: Queryable, batchId: number, ids: readonly number[]): Promise<void> {
  await db.query('UPDATE batcher_requests SET planned_batch_id = $1 WHERE id = ANY($2::bigint[])', [
    batchId,
    ids,
  ]);
}

/** A planned batch's requests, in queue order, a page at a time (`afterId` of the last one read). */
export async function readBatchLines(
  db: Queryable,
  batchId: number,
  afterId: number,
  limit: number,
): Promise<{ id: number; requestId: string; line: string }[]> {
  const { rows } = await db.query<{ id: string; request_id: string; line: string }>(
    `SELECT id, request_id, line FROM batcher_requests
     WHERE planned_batch_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
    [batchId, afterId, limit],
  );
  return rows.map((row) => ({ id: Number(row.id), requestId: row.request_id, line: row.line }));
}

/** A refused batch's requests go back to the queue, in their old places. */
export async function requeueRequests(db: Queryable, batchId: number): Promise<number> {
  const result = await db.query(
    'UPDATE batcher_requests SET planned_batch_id = NULL WHERE planned_batch_id = $1',
    [batchId],
  );
  return result.rowCount ?? 0;
}
