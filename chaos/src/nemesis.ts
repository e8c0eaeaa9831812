import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamName } from '@batchline/bus';
import type { Emulator, InjectedFault } from '@batchline/emulator';
import type { RestartableServer } from '@batchline/local-servers';
import pg from 'pg';
import type { BusProbe } from './bus-probe.ts';
import { describe, type PlannedFault } from './fault-plan.ts';
import type { Fleet } from './fleet.ts';
import type { PIPELINE_SERVICE_NAMES } from './profiles.ts';
import type { Rng } from './rng.ts';
import type { SlackFaults } from './slack-faults.ts';

export interface FaultRecord extends PlannedFault {
  outcome: 'injected' | 'skipped';
  startedAtMs?: number;
  endedAtMs?: number;
  /** What happened: the exit code of a SIGTERMed process, the seqs of a poison message, why it was skipped. */
  note?: string;
  /** For a SIGTERM: the process's exit code. */
  exitCode?: number | string | null;
  /** For a poison event: where it was stored. */
  poison?: { stream: string; seq: number };
  /** For HTTP faults: how many requests it was applied to. */
  hits?: () => number;
}

/** How long an event fault waits for its stream to hold something it can republish. */
const REPUBLISH_PATIENCE_MS = 30_000;
/** The provider's status-call timeout is 30 s: a 45 s hang is a timeout for the client. */
const HANG_MS = 45_000;
const STATUS_CHECK_PATH = /^\/v1\/batches\/[^/]+$/;
const FILE_CONTENT_PATH = /^\/v1\/files\/[^/]+\/content$/;
/** Slack accepted the post; the notifier has not recorded it (services/notifier crash points). */
const NOTIFIER_CRASH_POINT = 'notifier.after_slack_200_before_mark';

export interface NemesisDeps {
  fleet: Fleet;
  nats: RestartableServer;
  postgres: RestartableServer;
  /** Admin connection URL of the private Postgres (for pg_terminate_backend). */
  postgresAdminUrl: string;
  emulator: Emulator;
  slack: SlackFaults;
  probe: BusProbe;
  /** Runtime choices the plan cannot make in advance (which recorded event to duplicate). */
  rng: Rng;
  elapsed(): number;
  log(message: string): void;
}

/** Executes the plan at its moments; resolves when every fault has run its course (outages ended, processes back). */
export class Nemesis {
  readonly records: FaultRecord[] = [];
  private readonly httpFaults: InjectedFault[] = [];

  constructor(private readonly deps: NemesisDeps) {}

  async run(plan: readonly PlannedFault[], signal: AbortSignal): Promise<void> {
    const running: Promise<void>[] = [];
    for (const fault of plan) {
      const wait = fault.atMs - this.deps.elapsed();
      if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      running.push(this.inject(fault));
    }
    await Promise.all(running);
  }

  /** Removes the transient HTTP faults still armed (a vanished batch's 404s are not the nemesis's and stay). */
  heal(): void {
    for (const fault of this.httpFaults) fault.remove();
    this.deps.slack.heal();
    this.deps.fleet.heal();
  }

  private async inject(fault: PlannedFault): Promise<void> {
    const record: FaultRecord = { ...fault, outcome: 'injected', startedAtMs: this.deps.elapsed() };
    this.records.push(record);
    this.deps.log(`fault #${fault.id} ${fault.kind} ${describe(fault)}`);
    try {
      const skipped = await this.execute(fault, record);
      if (skipped) {
        record.outcome = 'skipped';
        record.note = skipped;
      }
    } catch (error) {
      record.outcome = 'skipped';
      record.note = `failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    record.endedAtMs = this.deps.elapsed();
    if (record.outcome === 'skipped' || record.note || record.exitCode !== undefined) {
      const exit = record.exitCode !== undefined ? `exit ${record.exitCode}` : '';
      this.deps.log(
        `fault #${fault.id} ${record.outcome}: ${[record.note, exit].filter(Boolean).join('; ')}`,
      );
    }
  }

  /** Runs one fault; returns why it was skipped, if it was. */
  private async execute(fault: PlannedFault, record: FaultRecord): Promise<string | undefined> {
    const { fleet, slack, probe } = this.deps;
    switch (fault.kind) {
      case 'kill':
      case 'terminate':
      case 'pause': {
        const slot = this.upSlotLike(fault.target!);
        if (!slot) return 'no replica of that service was up';
        record.target = slot;
        if (fault.kind === 'kill') await fleet.kill(slot, fault.durationMs!);
        else if (fault.kind === 'pause') await fleet.pause(slot, fault.durationMs!);
        else record.exitCode = await fleet.terminate(slot, fault.durationMs!);
        return undefined;
      }
      case 'nats-restart':
      case 'nats-crash':
        await this.outage(
          this.deps.nats,
          fault.kind === 'nats-crash' ? 'crash' : 'graceful',
          fault.durationMs!,
        );
        return undefined;
      case 'postgres-restart':
      case 'postgres-crash':
        await this.outage(
          this.deps.postgres,
          fault.kind === 'postgres-crash' ? 'crash' : 'graceful',
          fault.durationMs!,
        );
        return undefined;
      case 'postgres-terminate':
        record.note = `${await this.terminateBackends()} connections terminated`;
        return undefined;
      case 'openai-429':
        this.armHttp(record, {
          method: 'GET',
          path: STATUS_CHECK_PATH,
          status: 429,
          headers: { 'retry-after': String(fault.param) },
          body: {
            error: {
              message: 'Rate limit reached for requests',
              type: 'requests',
              param: null,
              code: 'rate_limit_exceeded',
            },
          },
          times: fault.count!,
        });
        return undefined;
      case 'openai-500':
        this.armHttp(record, {
          method: 'GET',
          path: fault.target === 'download' ? FILE_CONTENT_PATH : STATUS_CHECK_PATH,
          status: fault.param!,
          times: fault.count!,
        });
        return undefined;
      case 'openai-timeout':
        this.armHttp(record, {
          method: 'GET',
          path: STATUS_CHECK_PATH,
          delayMs: HANG_MS,
          times: fault.count!,
        });
        return undefined;
      case 'openai-truncated':
        this.armHttp(record, {
          method: 'GET',
          path: FILE_CONTENT_PATH,
          truncateAfterBytes: fault.param!,
          times: fault.count!,
        });
        return undefined;
      case 'slack-429':
        slack.rateLimit(fault.count!, fault.param!);
        return undefined;
      case 'slack-500':
        slack.serverErrors(fault.count!, fault.param as 500 | 503);
        return undefined;
      case 'slack-outage':
        slack.outage(true);
        await sleep(fault.durationMs!);
        slack.outage(false);
        return undefined;
      case 'duplicate-event':
      case 'replay-events':
        return this.republish(fault, record);
      case 'notifier-crash-point':
        await fleet.armCrashPoint(fault.target!, `${NOTIFIER_CRASH_POINT}:${fault.param}`);
        record.note = `armed ${NOTIFIER_CRASH_POINT}:${fault.param}`;
        return undefined;
      case 'poison-event': {
        record.poison = await probe.publishPoison(fault.target!, `#${fault.id}`);
        record.note = `stored at ${record.poison.stream}:${record.poison.seq}`;
        return undefined;
      }
    }
  }

  /**
   * A duplicate: one recorded event, `count` more copies; a replay: the last `count` events, once each. Early in a
   * run a stream may still be empty (or hold only poison, which is never copied): it tries again for a while.
   */
  private async republish(fault: PlannedFault, record: FaultRecord): Promise<string | undefined> {
    const { probe, rng } = this.deps;
    const stream = fault.target as StreamName;
    const deadline = Date.now() + REPUBLISH_PATIENCE_MS;
    for (;;) {
      const { first, last } = await probe.streamRange(stream).catch(() => ({ first: 1, last: 0 }));
      if (last >= first) {
        const seqs =
          fault.kind === 'duplicate-event'
            ? [rng.int(first, last)]
            : Array.from({ length: Math.min(fault.count!, last - first + 1) }, (_, i) => last - i).reverse();
        const copies = fault.kind === 'duplicate-event' ? fault.count! : 1;
        let published = 0;
        for (let copy = 0; copy < copies; copy++)
          published += await probe.republish(stream, seqs, fault.kind);
        if (published > 0) {
          record.note = `${published} events republished from ${stream} seq ${seqs[0]}–${seqs.at(-1)}`;
          return undefined;
        }
      }
      if (Date.now() > deadline) return `no event to republish in ${stream}`;
      await sleep(2_000);
    }
  }

  private armHttp(record: FaultRecord, fault: Parameters<Emulator['injectHttpFault']>[0]): void {
    const injected = this.deps.emulator.injectHttpFault(fault);
    this.httpFaults.push(injected);
    record.hits = () => injected.hits;
  }

  private async outage(server: RestartableServer, mode: 'graceful' | 'crash', downMs: number): Promise<void> {
    await server.halt(mode);
    await sleep(downMs);
    await server.resume();
  }

  /** The planned slot if it is up, else another replica of the same service that is. */
  private upSlotLike(label: string): string | undefined {
    const { fleet } = this.deps;
    if (fleet.isUp(label)) return label;
    const service = label.slice(0, label.lastIndexOf('-')) as (typeof PIPELINE_SERVICE_NAMES)[number];
    return fleet.labels(service).find((other) => fleet.isUp(other));
  }

  private async terminateBackends(): Promise<number> {
    // Postgres may be down for another fault right now: wait for it (bounded) rather than skip this one.
    const deadline = Date.now() + 60_000;
    let client: pg.Client;
    for (;;) {
      client = new pg.Client({ connectionString: this.deps.postgresAdminUrl });
      client.on('error', () => undefined);
      try {
        await client.connect();
        break;
      } catch (error) {
        await client.end().catch(() => undefined);
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    try {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE application_name LIKE 'batchline-%' AND pid <> pg_backend_pid()`,
      );
      return rows[0]?.n ?? 0;
    } finally {
      await client.end();
    }
  }
}
