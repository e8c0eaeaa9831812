/** The faults the nemesis injects (the PF, EX, SL and BI rows of docs/fault-injection.md). */
export const FAULT_KINDS = [
  'kill', // SIGKILL one service process, restarted after a pause (PF1–PF6 at random points)
  'terminate', // SIGTERM during work: it must drain and exit 0, then it is restarted
  'pause', // SIGSTOP past the poller lease / ack wait, then SIGCONT (PF7, PF8)
  'nats-restart', // nats-server SIGTERM, down a while, started on the same store (PF9, PF11)
  'nats-crash', // nats-server SIGKILL (PF10)
  'postgres-restart', // pg_ctl stop -m fast (PF14)
  'postgres-crash', // pg_ctl stop -m immediate: crash recovery on start (PF15)
  'postgres-terminate', // pg_terminate_backend on every service connection (PF16)
  'openai-429', // 429 with Retry-After on status checks (EX1)
  'openai-500', // 500/502/503 on status checks and downloads (EX4)
  'openai-timeout', // a status check that never answers: the client's timeout (EX8)
  'openai-truncated', // a result download cut after some bytes (EX9 a)
  'slack-429', // Slack rate limit with Retry-After (SL1)
  'slack-500', // Slack 500/503 (SL3)
  'slack-outage', // Slack unreachable for a while: connections reset (SL3, shortened)
  'duplicate-event', // one recorded event republished twice with new msg ids (BI8)
  'replay-events', // a range of a stream republished with new msg ids (BI9)
  'poison-event', // a schema-invalid body on an event subject: must end in the DLQ, alone (PF18)
  'notifier-crash-point', // a notifier armed to die right after Slack accepts a post, before recording it (PF6)
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** How a batch ends at the (emulated) provider. */
export const BATCH_KINDS = [
  'completed',
  'completed-no-output', // every request failed: only an error file (EX11)
  'failed', // the provider failed the batch: no output at all
  'expired', // expired with partial output
  'cancelled', // cancelled with partial output
  'vanished', // the provider forgets it: 404 on every status check (EX6)
] as const;
export type BatchKind = (typeof BATCH_KINDS)[number];

export type PipelineService = 'poller' | 'fetcher' | 'persister' | 'notifier';
export const PIPELINE_SERVICE_NAMES: readonly PipelineService[] = [
  'poller',
  'fetcher',
  'persister',
  'notifier',
];

export type ProfileName = 'short' | 'long';
type Range = readonly [min: number, max: number];

export interface Profile {
  name: ProfileName;
  batches: number;
  /** Request counts are drawn from these buckets (by weight), after `fixedSizes` are placed once each. */
  sizes: readonly { min: number; max: number; weight: number }[];
  fixedSizes: readonly number[];
  batchKindWeights: Readonly<Record<BatchKind, number>>;
  /** Share of batches of the run's second job type (review_sentiment); above 0, at least one batch is. */
  secondJobTypeShare: number;
  /** Share of requests whose result line is spoiled (every kind of docs/interface.md §4 is drawn from). */
  badLineRate: number;
  /** Batches are submitted at random moments in [0, submitWindowMs). */
  submitWindowMs: number;
  /** Faults happen in [faultStartMs, faultWindowMs); then the system is healed and drained. */
  faultStartMs: number;
  faultWindowMs: number;
  faults: Readonly<Record<FaultKind, number>>;
  /** How long a killed or stopped process stays down before its restart. */
  processDownMs: Range;
  /** How long a SIGSTOPped process stays stopped. */
  pauseMs: Range;
  /** How long NATS or Postgres stays down. */
  infraDownMs: Range;
  /** One NATS restart is stretched to this outage (past the client's reconnect budget, PF11), if set. */
  longNatsOutageMs?: number;
  slackOutageMs: Range;
  /** Longest the drain after the heal may take (I6). */
  drainBoundMs: number;
  replicas: Readonly<Record<PipelineService, number>>;
  emulatorClock: { validatingMs: number; inProgressMs: number; finalizingMs: number };
  /** Service settings for the run (fast polling, short leases), besides the connection variables. */
  serviceEnv: Readonly<Record<string, string>>;
}

const everyFault = (count: number): Record<FaultKind, number> =>
  Object.fromEntries(FAULT_KINDS.map((kind) => [kind, count])) as Record<FaultKind, number>;

/** About three minutes: a dozen small batches, a few faults of each kind. Runs inside the test command. */
const SHORT: Profile = {
  name: 'short',
  batches: 12,
  sizes: [
    { min: 2, max: 40, weight: 4 },
    { min: 41, max: 400, weight: 3 },
  ],
  fixedSizes: [1, 1_200],
  // Several vanished batches at once among a dozen: they must end as not_found, not be taken for a systemic 404
  // (EX7), since the provider still lists the others.
  batchKindWeights: {
    completed: 6,
    'completed-no-output': 1,
    failed: 1,
    expired: 1,
    cancelled: 1,
    vanished: 3,
  },
  secondJobTypeShare: 0.35,
  badLineRate: 0.08,
  submitWindowMs: 40_000,
  faultStartMs: 3_000,
  faultWindowMs: 65_000,
  faults: {
    ...everyFault(1),
    kill: 4,
    terminate: 2,
    pause: 2,
    'openai-429': 2,
    'openai-500': 2,
    'openai-truncated': 2,
    'slack-429': 2,
    'slack-500': 2,
    'duplicate-event': 3,
    'poison-event': 2,
  },
  processDownMs: [500, 4_000],
  pauseMs: [4_000, 8_000],
  infraDownMs: [1_500, 5_000],
  slackOutageMs: [3_000, 8_000],
  drainBoundMs: 100_000,
  replicas: { poller: 2, fetcher: 2, persister: 2, notifier: 1 },
  emulatorClock: { validatingMs: 300, inProgressMs: 5_000, finalizingMs: 300 },
  serviceEnv: {
    POLL_SCHEDULE: '300ms,600ms,1s',
    POLL_TICK: '100ms',
    POLL_LEASE: '3s',
    RESULTS_CHUNK_RECORDS: '100',
  },
};

/** The soak: hundreds of batches from 1 to 50,000 requests for about ten minutes of faults (≤ 20 min in all). */
const LONG: Profile = {
  name: 'long',
  batches: 200,
  sizes: [
    { min: 1, max: 10, weight: 25 },
    { min: 11, max: 200, weight: 40 },
    { min: 201, max: 2_000, weight: 25 },
    { min: 2_001, max: 10_000, weight: 8 },
  ],
  fixedSizes: [1, 50_000, 20_000],
  batchKindWeights: {
    completed: 70,
    'completed-no-output': 4,
    failed: 6,
    expired: 8,
    cancelled: 8,
    vanished: 4,
  },
  secondJobTypeShare: 0.25,
  badLineRate: 0.02,
  submitWindowMs: 8 * 60_000,
  faultStartMs: 10_000,
  faultWindowMs: 10 * 60_000,
  faults: {
    ...everyFault(4),
    kill: 30,
    terminate: 8,
    pause: 8,
    'nats-restart': 3,
    'nats-crash': 3,
    'postgres-restart': 3,
    'postgres-crash': 3,
    'postgres-terminate': 4,
    'openai-429': 10,
    'openai-500': 10,
    'openai-timeout': 4,
    'openai-truncated': 8,
    'slack-429': 8,
    'slack-500': 8,
    'slack-outage': 3,
    'duplicate-event': 12,
    'replay-events': 4,
    'poison-event': 4,
    'notifier-crash-point': 2,
  },
  processDownMs: [1_000, 15_000],
  pauseMs: [5_000, 40_000],
  infraDownMs: [2_000, 30_000],
  longNatsOutageMs: 65_000,
  slackOutageMs: [10_000, 60_000],
  drainBoundMs: 240_000,
  replicas: { poller: 2, fetcher: 2, persister: 2, notifier: 2 },
  emulatorClock: { validatingMs: 1_000, inProgressMs: 20_000, finalizingMs: 1_000 },
  serviceEnv: {
    POLL_SCHEDULE: '500ms,1s,2s',
    POLL_TICK: '200ms',
    POLL_LEASE: '5s',
    RESULTS_CHUNK_RECORDS: '1000',
  },
};

export const PROFILES: Readonly<Record<ProfileName, Profile>> = { short: SHORT, long: LONG };

/** A profile with the command line's overrides: `--batches` and `--duration` (the fault window). */
export function profileWith(
  name: ProfileName,
  overrides: { batches?: number; durationMs?: number } = {},
): Profile {
  const base = PROFILES[name];
  const faultWindowMs = overrides.durationMs ?? base.faultWindowMs;
  const scale = faultWindowMs / base.faultWindowMs;
  // A shorter or longer window keeps the fault density: counts scale with it, each kind at least once.
  const faults = Object.fromEntries(
    FAULT_KINDS.map((kind) => [kind, Math.max(1, Math.round(base.faults[kind] * scale))]),
  ) as Record<FaultKind, number>;
  return {
    ...base,
    batches: overrides.batches ?? base.batches,
    faultWindowMs,
    submitWindowMs: Math.round(base.submitWindowMs * scale),
    faults: scale === 1 ? base.faults : faults,
  };
}
