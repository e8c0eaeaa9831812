import { describe, expect, it } from 'vitest';
import { startSlackReceiver } from '../index.ts';

const post = (url: string, text: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });

describe('the Slack receiver', () => {
  it('answers ok, scripted replies, and resets connections during an outage', async () => {
    const slack = await startSlackReceiver();
    try {
      expect(await (await post(slack.url, 'first')).text()).toBe('ok');

      slack.replyWith(() => ({ status: 429, body: 'rate_limited', headers: { 'retry-after': '2' } }));
      const limited = await post(slack.url, 'second');
      expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '2']);
      slack.replyWith(null);

      slack.setOutage(true);
      await expect(post(slack.url, 'lost')).rejects.toThrow();
      slack.setOutage(false);
      expect((await post(slack.url, 'third')).status).toBe(200);

      expect(slack.accepted.map((m) => m.body.text)).toEqual(['first', 'third']);
      expect(slack.attempts.map((m) => m.body.text)).toEqual(['first', 'second', 'third']);
    } finally {
      await slack.close();
    }
  });
});
