import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../index.ts';

const KEY = 'sk-ant-emulator-test-000000';

describe('the emulator’s Anthropic Message Batches mode', () => {
  let emulator: Emulator;
  let now = Date.UTC(2026, 0, 1);

  beforeAll(async () => {
    emulator = await startEmulator({
      apiKey: KEY,
      now: () => now,
      clock: { validatingMs: 10, inProgressMs: 100, finalizingMs: 10 },
    });
  });
  afterAll(async () => emulator?.close());

  const call = (path: string, init: RequestInit = {}, key: string | null = KEY) =>
    fetch(`${emulator.anthropicBaseUrl}${path}`, {
      ...init,
      headers: {
        'content-type': 'application/json',
        ...(key === null ? {} : { 'x-api-key': key }),
        ...init.headers,
      },
    });
  const request = (customId: string) => ({
    custom_id: customId,
    params: {
      model: 'claude-test',
      max_tokens: 16,
      system: '1: Battery life',
      messages: [{ role: 'user', content: 'battery' }],
    },
  });

  it('answers like Anthropic: 401 without a valid key, 400 for bad requests, 404 for unknown batches', async () => {
    const body = JSON.stringify({ requests: [request('rs-1')] });
    expect((await call('/v1/messages/batches', { method: 'POST', body }, null)).status).toBe(401);
    const wrongKey = await call('/v1/messages/batches', { method: 'POST', body }, 'sk-ant-wrong');
    expect(await wrongKey.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'invalid x-api-key' },
    });
    const duplicate = await call('/v1/messages/batches', {
      method: 'POST',
      body: JSON.stringify({ requests: [request('rs-1'), request('rs-1')] }),
    });
    expect(duplicate.status).toBe(400);
    expect(((await duplicate.json()) as { error: { type: string } }).error.type).toBe(
      'invalid_request_error',
    );
    expect(
      (await call('/v1/messages/batches', { method: 'POST', body: JSON.stringify({ requests: [] }) })).status,
    ).toBe(400);
    expect((await call('/v1/messages/batches/msgbatch_nope')).status).toBe(404);
  });

  it('streams the results of an ended batch as JSONL, and refuses them before', async () => {
    const created = (await (
      await call('/v1/messages/batches', {
        method: 'POST',
        body: JSON.stringify({ requests: [request('rs-1'), request('rs-2')] }),
      })
    ).json()) as { id: string; processing_status: string; results_url: string | null };
    expect(created).toMatchObject({ processing_status: 'in_progress', results_url: null });
    expect((await call(`/v1/messages/batches/${created.id}/results`)).status).toBe(400);
    now += 1000;
    const ended = (await (await call(`/v1/messages/batches/${created.id}`)).json()) as {
      results_url: string;
      request_counts: unknown;
    };
    expect(ended.request_counts).toEqual({
      processing: 0,
      succeeded: 2,
      errored: 0,
      canceled: 0,
      expired: 0,
    });
    const lines = (await (await call(new URL(ended.results_url).pathname)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.custom_id).sort()).toEqual(['rs-1', 'rs-2']);
    expect(lines[0].result.type).toBe('succeeded');
    expect(JSON.parse(lines[0].result.message.content[0].text)).toEqual({ viewpoint_ids: [1] });
  });
});
