import { enqueueOutbox, type OutboxEvent } from './outbox.ts';
import { type TransactionSource, withTransaction } from './pool.ts';

/** One announced edge of an episode: it began (the trouble lasted past its threshold) or it is over. */
export interface EpisodeTransition {
  /** What is in trouble, e.g. `provider_unavailable:openai`. */
  key: string;
  /** The episode's number for this key (1, 2, ...): announcements of one episode share it. */
  number: number;
  phase: 'began' | 'over';
  /** When the trouble began (first failure without a success since). */
  since: Date;
  /** When the transition was recorded, by the database clock. */
  at: Date;
}

/** The announcement of a transition, written to the outbox in the transaction that records it. */
export type EpisodeAnnouncement = (transition: EpisodeTransition) => OutboxEvent;

interface TransitionRow {
  episode: number;
  failing_since: Date;
  at: Date;
}

const transitionOf = (key: string, phase: EpisodeTransition['phase'], row: TransitionRow) => ({
  key,
  number: row.episode,
  phase,
  since: row.failing_since,
  at: row.at,
});

/**
 * Records one failure for `key`. When failures have lasted `thresholdMs` (database clock) with no success in
 * between and no episode is open, opens the next episode and writes its announcement in the same transaction.
 * Replicas racing serialise on the row: exactly one of them opens the episode.
 */
export async function recordTrouble(
  db: TransactionSource,
  key: string,
  thresholdMs: number,
  announce: EpisodeAnnouncement,
): Promise<EpisodeTransition | null> {
  return withTransaction(db, async (tx) => {
    await tx.query(
      `INSERT INTO ops_episodes (key, failing_since, last_trouble_at) VALUES ($1, now(), now())
       ON CONFLICT (key) DO UPDATE
         SET failing_since = COALESCE(ops_episodes.failing_since, now()), last_trouble_at = now()`,
      [key],
    );
    const opened = await tx.query<TransitionRow>(
      `UPDATE ops_episodes SET open = true, episode = episode + 1, raised_at = now()
        WHERE key = $1 AND NOT open AND failing_since <= now() - $2 * interval '1 millisecond'
        RETURNING episode, failing_since, raised_at AS at`,
      [key, thresholdMs],
    );
    const row = opened.rows[0];
    if (!row) return null;
    const transition = transitionOf(key, 'began', row);
    await enqueueOutbox(tx, announce(transition));
    return transition;
  });
}

/**
 * Records a success for `key`: the failures stop counting, and an open episode is closed with its "over"
 * announcement in the same transaction (once, whichever replica sees the success first). Writes nothing when
 * `key` is healthy already.
 */
export async function recordHealthy(
  db: TransactionSource,
  key: string,
  announce: EpisodeAnnouncement,
): Promise<EpisodeTransition | null> {
  // The common case, a healthy key, costs one read and no transaction.
  const troubled = await db.query(
    `SELECT 1 FROM ops_episodes WHERE key = $1 AND (open OR failing_since IS NOT NULL)`,
    [key],
  );
  if (troubled.rowCount === 0) return null;
  return withTransaction(db, async (tx) => {
    const before = await tx.query<{ open: boolean; episode: number; failing_since: Date; at: Date }>(
      `SELECT open, episode, failing_since, now() AS at FROM ops_episodes
        WHERE key = $1 AND (open OR failing_since IS NOT NULL) FOR UPDATE`,
      [key],
    );
    const row = before.rows[0];
    if (!row) return null;
    await tx.query(
      `UPDATE ops_episodes SET open = false, failing_since = NULL,
              cleared_at = CASE WHEN open THEN now() ELSE cleared_at END
        WHERE key = $1`,
      [key],
    );
    if (!row.open) return null;
    const transition = transitionOf(key, 'over', row);
    await enqueueOutbox(tx, announce(transition));
    return transition;
  });
}

/** How many episodes of `key` were announced so far (0 when none). */
export async function episodeCount(db: TransactionSource, key: string): Promise<number> {
  const { rows } = await db.query<{ episode: number }>(`SELECT episode FROM ops_episodes WHERE key = $1`, [
    key,
  ]);
  return rows[0]?.episode ?? 0;
}

/**
 * Records, once the database answers again, an episode of trouble that began at `since` and could not be
 * recorded while it lasted (the database itself was the trouble): the next episode of `key`, with its
 * announcements (`began`, which may have gone out already under the same occurrence, then `over`) in the same
 * transaction. Replicas that saw the same outage serialise on the row; an episode closed after `since` is theirs
 * too, and nothing more is recorded.
 */
export async function recordEpisodeAfterwards(
  db: TransactionSource,
  key: string,
  since: Date,
  announce: EpisodeAnnouncement,
): Promise<EpisodeTransition | null> {
  return withTransaction(db, async (tx) => {
    await tx.query(`INSERT INTO ops_episodes (key) VALUES ($1) ON CONFLICT (key) DO NOTHING`, [key]);
    const { rows } = await tx.query<{ episode: number; closed_since: boolean; at: Date }>(
      `SELECT episode, cleared_at IS NOT NULL AND cleared_at >= $2 AS closed_since, now() AS at
         FROM ops_episodes WHERE key = $1 FOR UPDATE`,
      [key, since],
    );
    const row = rows[0];
    if (!row || row.closed_since) return null;
    const number = row.episode + 1;
    await tx.query(
      `UPDATE ops_episodes SET episode = $2, open = false, failing_since = NULL, raised_at = $3, cleared_at = now()
        WHERE key = $1`,
      [key, number, since],
    );
    const began: EpisodeTransition = { key, number, phase: 'began', since, at: row.at };
    const over: EpisodeTransition = { key, number, phase: 'over', since, at: row.at };
    await enqueueOutbox(tx, announce(began));
    await enqueueOutbox(tx, announce(over));
    return over;
  });
}

/** A shared reading of a count, compared with the one before it (whichever replica took that). */
export interface CountReading {
  value: number;
  /** The value read before this one (null: the first reading ever). */
  previous: number | null;
  /** When the count was last seen growing (null: never), by the database clock. */
  grewAt: Date | null;
  /** Whether it grew within the window asked for. */
  growing: boolean;
}

/**
 * Records a reading of the count `key` (e.g. the DLQ's dead letters) against the baseline in `ops_readings`, which
 * every replica and restart shares: the count grows when it is above the last reading, and counts as growing
 * while its last growth is less than `windowMs` old. Replicas serialise on the row.
 */
export async function recordCountReading(
  db: TransactionSource,
  key: string,
  value: number,
  windowMs: number,
): Promise<CountReading> {
  return withTransaction(db, async (tx) => {
    const { rows: before } = await tx.query<{ value: string }>(
      `SELECT value FROM ops_readings WHERE key = $1 FOR UPDATE`,
      [key],
    );
    const previous = before[0] ? Number(before[0].value) : null;
    const { rows } = await tx.query<{ grew_at: Date | null; growing: boolean }>(
      `INSERT INTO ops_readings (key, value) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET value = $2, read_at = now(),
         grew_at = CASE WHEN $2 > ops_readings.value THEN now() ELSE ops_readings.grew_at END
       RETURNING grew_at, COALESCE(grew_at > now() - $3 * interval '1 millisecond', false) AS growing`,
      [key, value, windowMs],
    );
    return { value, previous, grewAt: rows[0]!.grew_at, growing: rows[0]!.growing };
  });
}
