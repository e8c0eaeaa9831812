import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sampleBatchFinalizedEvent, sampleJobFinalizedEvent, testNatsUrl } from '@batchline/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestBus, type TestBus, waitFor } from './support.ts';

const EXAMPLE = fileURLToPath(new URL('../../../examples/hooks/consumer.mjs', import.meta.url));

interface Printed {
  subject: string;
  msgId: string | null;
  redelivered: boolean;
  event: Record<string, unknown>;
}

/** Runs the example consumer of docs/events.md as a user would, collecting the events it prints. */
function runExample(namespace: string, durable: string) {
  const printed: Printed[] = [];
  let stderr = '';
  const child: ChildProcess = spawn(process.execPath, [EXAMPLE], {
    env: { ...process.env, NATS_URL: testNatsUrl(), BATCHLINE_NAMESPACE: namespace, HOOK_CONSUMER: durable },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.trim()) printed.push(JSON.parse(line) as Printed);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { printed, stderr: () => stderr, child, exited };
}

describe('the example hook consumer (examples/hooks/consumer.mjs)', () => {
  let t: TestBus | undefined;
  let example: ReturnType<typeof runExample> | undefined;
  afterEach(async () => {
    example?.child.kill('SIGTERM');
    await example?.exited;
    await t?.close();
    t = example = undefined;
  });

  it('subscribes with its own durable consumer and sees batch.finalized and job.finalized once each', async () => {
    t = await openTestBus('hookexample');
    await t.bus.ensureTopology();
    example = runExample(t.naming.namespace, 'my-finalized-hook');
    const running = example;
    await waitFor('the example to subscribe', () => running.stderr().includes('consuming'), 20_000);

    await t.bus.publish('batch.finalized', sampleBatchFinalizedEvent(41), { msgId: 'finalized:41' });
    await t.bus.publish('job.finalized', sampleJobFinalizedEvent(7), { msgId: 'job-finalized:7' });
    // A second publish of the same event within the dedupe window is dropped by JetStream.
    await t.bus.publish('batch.finalized', sampleBatchFinalizedEvent(41), { msgId: 'finalized:41' });
    await waitFor('both events printed', () => running.printed.length >= 2, 20_000);

    const [batch, job] = running.printed;
    expect(batch).toMatchObject({ subject: 'batch.finalized', msgId: 'finalized:41', redelivered: false });
    expect(batch!.event).toMatchObject({ version: 1, batchLogId: 41, status: 2 });
    expect(job).toMatchObject({ subject: 'job.finalized', msgId: 'job-finalized:7' });
    expect(job!.event).toMatchObject({ version: 1, batchJobId: 7, outcome: 'succeeded' });
    // Its own durable consumer, beside batchline's: both read every event.
    const stream = t.naming.stream('BATCH_FINAL');
    const info = await t.jsm.consumers.info(stream, 'my-finalized-hook');
    expect(info.config.filter_subject).toBe(t.naming.subject('*.finalized'));
    const jsm = t.jsm;
    await waitFor('both acked', async () => {
      const now = await jsm.consumers.info(stream, 'my-finalized-hook');
      return now.num_ack_pending === 0 && now.delivered.consumer_seq === 2;
    });
    expect(running.printed).toHaveLength(2);
  }, 60_000);
});
