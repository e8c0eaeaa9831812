/** Status values of `batch_jobs_vp_logs.status` (docs/interface.md §3). */
export const BatchStatus = {
  pending: 1,
  completed: 2,
  failed: 9,
} as const;
export type BatchStatusCode = (typeof BatchStatus)[keyof typeof BatchStatus];
export type FinalStatusCode = typeof BatchStatus.completed | typeof BatchStatus.failed;

export type BatchStatusName = keyof typeof BatchStatus;

/** The name of a status code (`pending`, `completed`, `failed`); the code itself for one we do not know. */
export const batchStatusName = (status: number): BatchStatusName | string =>
  (Object.keys(BatchStatus) as BatchStatusName[]).find((name) => BatchStatus[name] === status) ??
  String(status);

export const isFinalStatus = (status: number): status is FinalStatusCode =>
  status === BatchStatus.completed || status === BatchStatus.failed;

/** The providers batchline talks to. */
export const PROVIDERS = ['openai', 'anthropic'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** Why a batch ended the way it did, beyond the provider's own status. */
export const END_REASONS = [
  'completed',
  'failed',
  'expired',
  'cancelled',
  'not_found',
  'max_age',
  'results_unavailable',
] as const;
export type EndReason = (typeof END_REASONS)[number];

/** How urgent an announcement is; `critical` goes to the critical Slack webhook when one is configured. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type ProviderPhase =
  | { terminal: false }
  | { terminal: true; finalStatus: FinalStatusCode; reason: EndReason; hasOutput: boolean };

const OPENAI_PENDING = new Set(['validating', 'in_progress', 'finalizing', 'cancelling']);
const ANTHROPIC_PENDING = new Set(['in_progress', 'canceling']);

/**
 * What an Anthropic batch that `ended` tells about why it ended: its requests that were cancelled or expired
 * before they ran (its `request_counts.canceled` / `.expired`).
 */
export interface EndedRequestCounts {
  canceled: number;
  expired: number;
}

/**
 * Maps a provider's batch status to our lifecycle. Unknown statuses are treated as not terminal: a status we do
 * not understand must never end a batch irreversibly. Anthropic has one terminal status, `ended`, for every
 * ending: requests cut off by a cancellation (or by the 24-hour window) make it a cancelled (expired) batch,
 * which lands what it has and ends with status 9, as OpenAI's `cancelled` / `expired` do.
 */
export function classifyProviderStatus(
  provider: ProviderName,
  status: string,
  ended: EndedRequestCounts = { canceled: 0, expired: 0 },
): ProviderPhase {
  if (provider === 'openai') {
    if (OPENAI_PENDING.has(status)) return { terminal: false };
    switch (status) {
      case 'completed':
        return { terminal: true, finalStatus: BatchStatus.completed, reason: 'completed', hasOutput: true };
      case 'expired':
        return { terminal: true, finalStatus: BatchStatus.failed, reason: 'expired', hasOutput: true };
      case 'cancelled':
        return { terminal: true, finalStatus: BatchStatus.failed, reason: 'cancelled', hasOutput: true };
      case 'failed':
        return { terminal: true, finalStatus: BatchStatus.failed, reason: 'failed', hasOutput: false };
      default:
        return { terminal: false };
    }
  }
  if (ANTHROPIC_PENDING.has(status)) return { terminal: false };
  if (status === 'ended') {
    if (ended.canceled > 0)
      return { terminal: true, finalStatus: BatchStatus.failed, reason: 'cancelled', hasOutput: true };
    if (ended.expired > 0)
      return { terminal: true, finalStatus: BatchStatus.failed, reason: 'expired', hasOutput: true };
    return { terminal: true, finalStatus: BatchStatus.completed, reason: 'completed', hasOutput: true };
  }
  return { terminal: false };
}

/** True for provider statuses this module knows; the poller warns on the others. */
export function isKnownProviderStatus(provider: ProviderName, status: string): boolean {
  if (provider === 'openai') {
    return OPENAI_PENDING.has(status) || ['completed', 'expired', 'cancelled', 'failed'].includes(status);
  }
  return ANTHROPIC_PENDING.has(status) || status === 'ended';
}
