import OpenAI from 'openai';

/** A verified OpenAI batch webhook: which batch it is about and what happened to it. */
export interface BatchWebhook {
  /** The event id (OpenAI may deliver one event more than once). */
  eventId: string;
  type: 'batch.completed' | 'batch.failed' | 'batch.expired' | 'batch.cancelled';
  batchId: string;
}

const BATCH_EVENT_TYPES: ReadonlySet<string> = new Set([
  'batch.completed',
  'batch.failed',
  'batch.expired',
  'batch.cancelled',
]);

/** Why a webhook request was refused: its signature (or timestamp) does not verify. */
export class WebhookSignatureError extends Error {
  readonly code = 'WEBHOOK_SIGNATURE_INVALID' as const;
}

/**
 * Verifies OpenAI's signed webhooks with the official SDK (`client.webhooks.unwrap`: HMAC of id, timestamp and
 * body; timestamps older than 5 minutes refused). Returns the batch event, null for a verified event that is
 * not about a batch, and throws `WebhookSignatureError` for anything that does not verify.
 */
export function openAIWebhookVerifier(
  secret: string,
): (body: string, headers: Record<string, string>) => Promise<BatchWebhook | null> {
  // Only the webhook helper is used: no request is ever made with this client.
  const client = new OpenAI({ apiKey: 'unused-for-webhook-verification', webhookSecret: secret });
  return async (body, headers) => {
    let event: OpenAI.Webhooks.UnwrapWebhookEvent;
    try {
      event = await client.webhooks.unwrap(body, headers, secret);
    } catch (error) {
      throw new WebhookSignatureError(
        `webhook refused: ${error instanceof Error ? error.message : 'signature does not verify'}`,
      );
    }
    const data = (event as { data?: { id?: unknown } }).data;
    if (!BATCH_EVENT_TYPES.has(event.type) || typeof data?.id !== 'string') return null;
    return { eventId: event.id, type: event.type as BatchWebhook['type'], batchId: data.id };
  };
}
