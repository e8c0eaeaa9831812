import { describe, expect, it } from 'vitest';
import { Counter, createServiceRegistry, registerBatchesGauge } from '../index.ts';

describe('createServiceRegistry', () => {
  it('has the default process metrics and labels every sample with the service', async () => {
    const registry = createServiceRegistry('persister');
    new Counter({ name: 'test_work_total', help: 'work', labelNames: ['kind'], registers: [registry] }).inc(
      { kind: 'outcomes' },
      3,
    );
    const text = await registry.metrics();
    expect(text).toMatch(/^batchline_process_cpu_user_seconds_total\{service="persister"\} /m);
    expect(text).toContain('test_work_total{kind="outcomes",service="persister"} 3');
  });

  it('keeps services in one process apart', async () => {
    const poller = createServiceRegistry('poller');
    const fetcher = createServiceRegistry('fetcher');
    expect(await poller.metrics()).not.toContain('service="fetcher"');
    expect(await fetcher.metrics()).not.toContain('service="poller"');
  });
});

describe('registerBatchesGauge', () => {
  it('reads the counts at each scrape', async () => {
    const registry = createServiceRegistry('notifier');
    let completed = 1;
    registerBatchesGauge(registry, async () => ({ pending: 2, completed }));
    expect(await registry.metrics()).toContain('batchline_batches{state="completed",service="notifier"} 1');
    completed = 5;
    const text = await registry.metrics();
    expect(text).toContain('batchline_batches{state="completed",service="notifier"} 5');
    expect(text).toContain('batchline_batches{state="pending",service="notifier"} 2');
  });
});
