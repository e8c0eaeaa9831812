import { DELIVERY_STATES, type DeliveryState, listDeliveries } from '@batchline/notifier';
import { commandContext, withDatabase } from '../context.ts';
import { UsageError } from '../errors.ts';
import { formatTable } from '../table.ts';
import type { Command } from './command.ts';

const isDeliveryState = (value: string): value is DeliveryState =>
  (DELIVERY_STATES as readonly string[]).includes(value);

const at = (date: Date | null): string => date?.toISOString() ?? '';

export const webhooksCommand: Command = {
  name: 'webhooks',
  usage: 'batchline webhooks [--state pending|delivered|failed] [--limit N] [--json]',
  summary: 'lists outbound webhook deliveries (docs/events.md), newest first',
  details: [
    'One row per public event and endpoint (named by the variable holding its URL, never the URL): its state,',
    'attempts, the last answer or error, and when the next attempt is due or when it was delivered or given up.',
    '--state failed lists the deliveries given up after WEBHOOK_MAX_ATTEMPTS (each was announced as an ops.error).',
  ],
  options: {
    state: { type: 'string' },
    limit: { type: 'string', default: '50' },
    json: { type: 'boolean', default: false },
  },
  async run({ positionals, values }) {
    if (positionals.length > 0) throw new UsageError('webhooks takes no arguments');
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new UsageError('--limit must be between 1 and 1000');
    const state = typeof values.state === 'string' ? values.state : undefined;
    if (state !== undefined && !isDeliveryState(state))
      throw new UsageError(`--state must be one of ${DELIVERY_STATES.join(', ')}`);
    const context = commandContext(true);
    const rows = await withDatabase(context, (pool) =>
      listDeliveries(pool, { limit, ...(state ? { state } : {}) }),
    );
    if (values.json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    console.log(
      formatTable(
        ['event', 'endpoint', 'job type', 'state', 'attempts', 'last answer', 'next attempt', 'done at'],
        rows.map((row) => [
          row.eventId,
          row.endpoint,
          row.jobType,
          row.state,
          row.attempts,
          row.lastError ?? row.lastStatus,
          at(row.nextAttemptAt),
          at(row.deliveredAt ?? row.failedAt),
        ]),
      ),
    );
  },
};
