import type { BatcherQueueGroup } from '../api.ts';
import { formatCount, formatDuration, formatTime, formatUsd } from '../format.ts';

/** Why a group gets no batch now (or that its batch is being made), as a badge. */
function waitBadge(group: BatcherQueueGroup): { text: string; className: string } {
  switch (group.waitingFor) {
    case 'budget':
      return {
        text: group.budget
          ? `budget reached: ${formatUsd(group.budget.spentTodayUsd)} of ${formatUsd(group.budget.dailyUsd)} today`
          : 'budget reached',
        className: 'badge-failed',
      };
    case 'paused':
      return { text: 'paused', className: 'badge-paused' };
    case 'token_limit':
      return { text: 'token limit: waiting for running batches', className: 'badge-paused' };
    case 'disabled':
      return { text: 'batching disabled (BATCH_PROCESSING_ENABLED)', className: 'badge-paused' };
    case 'undeclared_job_type':
      return { text: 'job type not declared', className: 'badge-failed' };
    case 'not_due':
      return { text: 'waiting for its time', className: 'badge-pending' };
    case null:
      return { text: 'batch being made', className: 'badge-processing' };
  }
}

/** When the group's next batch is due: now once due, "—" while none can be made. */
function dueText(group: BatcherQueueGroup, now: number): string {
  if (group.nextBatchDueAt === null) return '—';
  return Date.parse(group.nextBatchDueAt) <= now ? 'now' : formatTime(group.nextBatchDueAt);
}

/**
 * The batcher's queue (`batcherQueue` of the admin API, as the batcher wrote it at its last tick): pending requests
 * per job type and model, the oldest one's age, when the next batch is due, and what stops it (budget, pause,
 * token limit); flagged when the batcher has stopped writing it.
 */
export function BatcherQueue({ groups }: { groups: BatcherQueueGroup[] }) {
  const now = Date.now();
  return (
    <section className="card job-types">
      <h2>Queue</h2>
      <table className="job-table" data-testid="queue-table">
        <thead>
          <tr>
            <th>Job type</th>
            <th>Model</th>
            <th className="num">Pending</th>
            <th className="num">Oldest waited</th>
            <th>Next batch due</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {groups.length === 0 && (
            <tr>
              <td colSpan={6} className="empty-row">
                No request waits for the batcher.
              </td>
            </tr>
          )}
          {groups.map((group) => {
            const key = `${group.jobType}-${group.provider}-${group.model}`;
            const badge = waitBadge(group);
            return (
              <tr key={key} data-testid={`queue-row-${key}`} data-waiting={group.waitingFor ?? 'none'}>
                <td>{group.jobType}</td>
                <td>
                  {group.provider} · {group.model}
                </td>
                <td className="num" data-figure="pending" data-value={group.pending}>
                  {formatCount(group.pending)}
                </td>
                <td className="num" data-figure="oldest-age" data-value={group.oldestAgeSeconds}>
                  {formatDuration(group.oldestAgeSeconds * 1000)}
                </td>
                <td data-figure="next-batch-due">{dueText(group, now)}</td>
                <td>
                  <span className={`badge ${badge.className}`} data-testid={`queue-badge-${key}`}>
                    {badge.text}
                  </span>
                  {group.stale && (
                    <span className="badge badge-failed" data-testid={`queue-stale-${key}`}>
                      batcher not running: last written {formatTime(group.updatedAt)}
                    </span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
