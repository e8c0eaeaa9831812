import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamName } from '@batchline/bus';
import type { Emulator, InjectedFault } from '@batchline/emulator';
import { Subjects } from '@batchline/events';
import type { RestartableServer } from '@batchline/local-servers';
import pg from 'pg';
import type { BusProbe } from './bus-probe.ts';
import type { Fleet } from './fleet.ts';
import { FAULT_KINDS, type FaultKind, PIPELINE_SERVICE_NAMES, type Profile } from './profiles.ts';
import type { Rng } from './rng.ts';
import type { SlackFaults } from './slack-faults.ts';

/** One fault of the plan, fully decided by the seed (its moment, target and parameters). */
export interface PlannedFault {
  id: number;
  kind: FaultKind;
  /** From the start of the run. */
  atMs: number;
  /** A service slot (`fetcher-2`), a stream, or a subject. */
  target?: string;
  /** How long something stays down, paused or gone. */
  durationMs?: number;
  /** How many requests / posts / events it applies to. */
  count?: number;
  /** Retry-After seconds, an HTTP status, or the byte count after which a download is cut. */
  param?: number;
}

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

const INFRA_KINDS: readonly FaultKind[] = [
  'nats-restart',
  'nats-crash',
  'postgres-restart',
  'postgres-crash',
];
const NATS_KINDS: readonly FaultKind[] = ['nats-restart', 'nats-crash'];
const EVENT_KINDS: readonly FaultKind[] = ['duplicate-event', 'replay-events', 'poison-event'];
const EVENT_STREAMS: readonly StreamName[] = ['BATCH_STATUS', 'BATCH_RESULTS', 'BATCH_FINAL'];
const CONSUMED_SUBJECTS = [Subjects.statusChanged, Subjects.resultsParsed, Subjects.batchFinalized] as const;
/** How long an event fault waits for its stream to hold something it can republish. */
const REPUBLISH_PATIENCE_MS = 30_000;
/** Gap between two infrastructure outages, so that each one's recovery is observed on its own. */
const INFRA_GAP_MS = 3_000;
/** The provider's status-call timeout is 30 s: a 45 s hang is a timeout for the client. */
const HANG_MS = 45_000;
const STATUS_CHECK_PATH = /^\/v1\/batches\/[^/]+$/;
const FILE_CONTENT_PATH = /^\/v1\/files\/[^/]+\/content$/;
/** Slack accepted the post; the notifier has not recorded it (services/notifier crash points). */
const NOTIFIER_CRASH_POINT = 'notifier.after_slack_200_before_mark';

const between = (rng: Rng, [min, max]: readonly [number, number]) => rng.int(min, max);

/** One line about a planned fault, for the run's timeline. */
function describe(fault: PlannedFault): string {
  const parts = [
    fault.target,
    fault.durationMs !== undefined ? `for ${(fault.durationMs / 1000).toFixed(1)} s` : undefined,
    fault.count !== undefined ? `×${fault.count}` : undefined,
    fault.param !== undefined ? `(${fault.param})` : undefined,
  ];
  return parts.filter((part) => part !== undefined).join(' ');
}

/** The whole fault plan of a run, from the seed: kinds, moments, targets and parameters. */
export function planFaults(profile: Profile, rng: Rng, slotLabels: readonly string[]): PlannedFault[] {
  const window = profile.faultWindowMs;
  const start = profile.faultStartMs;
  const at = () => start + Math.floor(rng.next() * (window - start));
  const faults: PlannedFault[] = [];
  const add = (fault: Omit<PlannedFault, 'id'>) => faults.push({ id: 0, ...fault });

  // Infrastructure outages, one at a time.
  const infra = INFRA_KINDS.flatMap((kind) => Array.from({ length: profile.faults[kind] }, () => kind));
  const infraMoments = infra.map(() => at()).sort((a, b) => a - b);
  let longOutageGiven = profile.longNatsOutageMs === undefined;
  const shuffledInfra = infra.map((kind) => ({ kind, key: rng.next() })).sort((a, b) => a.key - b.key);
  let freeAt = start;
  for (const [i, { kind }] of shuffledInfra.entries()) {
    let durationMs = between(rng, profile.infraDownMs);
    if (!longOutageGiven && kind === 'nats-restart') {
      durationMs = profile.longNatsOutageMs!;
      longOutageGiven = true;
    }
    const atMs = Math.max(infraMoments[i]!, freeAt);
    add({ kind, atMs, durationMs });
    freeAt = atMs + durationMs + INFRA_GAP_MS;
  }
  const natsOutages = faults
    .filter((f) => NATS_KINDS.includes(f.kind))
    .map((f) => [f.atMs - 1_000, f.atMs + f.durationMs! + 5_000] as const);
  // Event faults talk to NATS: none inside a NATS outage; and not before there are events to replay.
  const eventAt = () => {
    let moment = start + (window - start) / 5 + Math.floor(rng.next() * ((4 * (window - start)) / 5));
    for (const [from, to] of natsOutages) if (moment >= from && moment <= to) moment = to;
    return moment;
  };

  for (const kind of FAULT_KINDS) {
    if (INFRA_KINDS.includes(kind)) continue;
    for (let n = 0; n < profile.faults[kind]; n++) {
      if (EVENT_KINDS.includes(kind)) {
        add(
          kind === 'poison-event'
            ? { kind, atMs: eventAt(), target: rng.pick(CONSUMED_SUBJECTS) }
            : {
                kind,
                atMs: eventAt(),
                target: rng.pick(EVENT_STREAMS),
                count: kind === 'replay-events' ? 200 : 2,
              },
        );
        continue;
      }
      switch (kind) {
        case 'kill':
        case 'terminate':
          add({
            kind,
            atMs: at(),
            target: pickSlot(rng, slotLabels),
            durationMs: between(rng, profile.processDownMs),
          });
          break;
        case 'pause':
          add({
            kind,
            atMs: at(),
            target: pickSlot(rng, slotLabels),
            durationMs: between(rng, profile.pauseMs),
          });
          break;
        case 'postgres-terminate':
          add({ kind, atMs: at() });
          break;
        case 'openai-429':
          add({ kind, atMs: at(), count: rng.int(3, 10), param: rng.int(1, 3) });
          break;
        case 'openai-500':
          add({
            kind,
            atMs: at(),
            count: rng.int(2, 8),
            param: rng.pick([500, 502, 503]),
            target: rng.pick(['status', 'download']),
          });
          break;
        case 'openai-timeout':
          add({ kind, atMs: at(), count: rng.int(1, 2) });
          break;
        case 'openai-truncated':
          add({ kind, atMs: at(), count: rng.int(1, 3), param: rng.int(200, 20_000) });
          break;
        case 'slack-429':
          add({ kind, atMs: at(), count: rng.int(1, 3), param: rng.int(1, 3) });
          break;
        case 'slack-500':
          add({ kind, atMs: at(), count: rng.int(1, 4), param: rng.pick([500, 503]) });
          break;
        case 'slack-outage':
          add({ kind, atMs: at(), durationMs: between(rng, profile.slackOutageMs) });
          break;
        case 'notifier-crash-point': {
          // Early enough that the armed process still has posts to make.
          const notifiers = slotLabels.filter((label) => label.startsWith('notifier-'));
          add({
            kind,
            atMs: start + Math.floor((rng.next() * (window - start)) / 3),
            target: rng.pick(notifiers),
            param: rng.int(1, 3),
          });
          break;
        }
      }
    }
  }
  return faults.sort((a, b) => a.atMs - b.atMs).map((fault, i) => ({ ...fault, id: i + 1 }));
}

/** Any replica of any pipeline service, services equally likely. */
function pickSlot(rng: Rng, labels: readonly string[]): string {
  const service = rng.pick(PIPELINE_SERVICE_NAMES.filter((s) => labels.some((l) => l.startsWith(`${s}-`))));
  return rng.pick(labels.filter((label) => label.startsWith(`${service}-`)));
}

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
