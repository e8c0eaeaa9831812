import type { StreamName } from '@batchline/bus';
import { Subjects } from '@batchline/events';
import { FAULT_KINDS, type FaultKind, PIPELINE_SERVICE_NAMES, type Profile } from './profiles.ts';
import type { Rng } from './rng.ts';

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
/** Gap between two infrastructure outages, so that each one's recovery is observed on its own. */
const INFRA_GAP_MS = 3_000;

const between = (rng: Rng, [min, max]: readonly [number, number]) => rng.int(min, max);

/** One line about a planned fault, for the run's timeline. */
export function describe(fault: PlannedFault): string {
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
