/**
 * The notifier's queue of Slack messages (`notifications`). A message is recorded under the key of the event it
 * announces before that event is acknowledged, so a redelivered or replayed event never yields a second one;
 * dispatchers then send what is due, oldest occurrence first, one webhook slot at a time.
 *
 * `pending` → `sending` (claimed by one dispatcher until `claim_expires_at`) → `sent` / `logged` / `failed`; a
 * final-status message may instead become `digested` (listed in the digest message `digest_key`).
 *
 * Recording: enqueue.ts; handing out (and bundling into digests): claim.ts, digest.ts; recording how an attempt
 * ended: complete.ts; the webhook's shared pace: webhook-pacing.ts.
 */
export type NotificationState = 'pending' | 'sending' | 'sent' | 'logged' | 'failed' | 'digested';
/** Which webhook: the default one, the critical one (or the default when none is set), or the log only. */
export type NotificationRoute = 'default' | 'critical' | 'log';

/** `batch_log_id` is a bigint column, which pg returns as a string. */
export const batchLogIdOf = (column: string | null): number | null =>
  column === null ? null : Number(column);
