import type { SlackReceiver, SlackReply } from '@batchline/testing';

/**
 * Scripted Slack misbehaviour on the receiver: the next N posts get a 429 with `Retry-After` or a 5xx (with
 * Slack's plain-text bodies), or Slack goes away for a while. Heal ends all of it.
 */
export class SlackFaults {
  private readonly queued: SlackReply[] = [];

  constructor(private readonly receiver: SlackReceiver) {
    receiver.replyWith(() => this.queued.shift());
  }

  rateLimit(posts: number, retryAfterSeconds: number): void {
    for (let i = 0; i < posts; i++) {
      this.queued.push({
        status: 429,
        body: 'rate_limited',
        headers: { 'retry-after': String(retryAfterSeconds), 'content-type': 'text/plain' },
      });
    }
  }

  serverErrors(posts: number, status: 500 | 503): void {
    for (let i = 0; i < posts; i++) {
      this.queued.push({
        status,
        body: status === 500 ? 'rollup_error' : 'service_unavailable',
        headers: { 'content-type': 'text/plain' },
      });
    }
  }

  outage(on: boolean): void {
    this.receiver.setOutage(on);
  }

  heal(): void {
    this.queued.length = 0;
    this.receiver.setOutage(false);
  }
}
