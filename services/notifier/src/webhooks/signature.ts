import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, docs/events.md "Verifying a webhook"): the
 * signature is `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed by the secret. A secret written as
 * `whsec_<base64>` is keyed by its decoded bytes (as the Standard Webhooks libraries read it), any other by its
 * UTF-8 bytes.
 */
const STANDARD_SECRET_PREFIX = 'whsec_';

export function signingKeyOf(secret: string): Buffer {
  return secret.startsWith(STANDARD_SECRET_PREFIX)
    ? Buffer.from(secret.slice(STANDARD_SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

export interface SignedWebhook {
  /** The event's stable id: the receiver's idempotency key. */
  id: string;
  /** Seconds since the epoch when this attempt was signed. */
  timestamp: number;
  body: string;
}

export function webhookSignature(secret: string, { id, timestamp, body }: SignedWebhook): string {
  const mac = createHmac('sha256', signingKeyOf(secret))
    .update(`${id}.${timestamp}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/** The headers of one attempt's POST. */
export const webhookHeaders = (secret: string, signed: SignedWebhook): Record<string, string> => ({
  'content-type': 'application/json',
  'user-agent': 'batchline-webhooks/1',
  'webhook-id': signed.id,
  'webhook-timestamp': String(signed.timestamp),
  'webhook-signature': webhookSignature(secret, signed),
});
