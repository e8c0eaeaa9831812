import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@batchline/logging';
import { testNamespace, testNatsUrl } from '@batchline/testing';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type Bus, type BusNaming, busNaming, connectBus } from '../index.ts';

/** A logger whose JSON lines the test can read. */
export function captureLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { log: createLogger({ service: 'bus-test', level: 'debug', destination }), lines: () => lines };
}

/** A bus in a namespace of its own, plus a plain client to inspect (or tamper with) the server directly. */
export interface TestBus {
  bus: Bus;
  naming: BusNaming;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  logLines: () => Record<string, unknown>[];
  /** Drains the bus, deletes the namespace's streams, closes the inspection client. */
  close(): Promise<void>;
}

export async function openTestBus(label: string): Promise<TestBus> {
  const namespace = testNamespace(label);
  const { log, lines } = captureLogger();
  const bus = await connectBus({ servers: [testNatsUrl()], name: `test-${label}`, namespace, log });
  const nc = await connect({ servers: testNatsUrl() });
  const jsm = await jetstreamManager(nc);
  const naming = busNaming(namespace);
  return {
    bus,
    naming,
    nc,
    js: jetstream(nc),
    jsm,
    logLines: lines,
    async close() {
      await bus.deleteTopology();
      await bus.drain();
      await nc.close();
    },
  };
}

/** Polls `check` until it returns true; fails after `timeoutMs` (a bound, not a timing assertion). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A W3C traceparent (version 00), sampled or not. */
export const TRACEPARENT = /^00-(?!0{32})([0-9a-f]{32})-(?!0{16})([0-9a-f]{16})-0[01]$/;
export const traceIdOf = (traceparent: string | undefined) => TRACEPARENT.exec(traceparent ?? '')?.[1];
