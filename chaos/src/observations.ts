import type { ExpectedOutcome } from '@batchline/emulator';
import type { ConsumerState, DeadLetter } from './bus-probe.ts';
import type { ExitRecord } from './fleet.ts';
import type { FaultRecord } from './nemesis.ts';
import type { BatchKind } from './profiles.ts';

/** What the oracle (the emulator) says one batch must have become. */
export interface BatchExpectation {
  batchLogId: number;
  providerBatchId: string;
  kind: BatchKind;
  /** The batch's job type (whose table its rows land in). */
  jobType: string;
  /** 2 or 9. */
  status: number;
  /** `log_details.reason` the batch must carry. */
  reason: string;
  /** False when the emulator had not finished the batch when checked (a harness problem, reported as such). */
  oracleFinal: boolean;
  outcomes: ExpectedOutcome[];
  unattributableLines: number;
}

/** What Postgres holds for one batch after the drain. */
export interface BatchState {
  batchLogId: number;
  status: number;
  reason: string | null;
  totalSentences: number;
  processedSentences: number;
  failedSentences: number;
  invalidLines: number | null;
  finalNotifiedAt: Date | null;
  /** custom_id → outcome, error code and how many rows carry it. */
  results: Map<string, { outcome: string; errorCode: string | null; rows: number }>;
  /** `review_sentence_id:wl_spec_vp_id` of the rows attributed to this batch. */
  associations: string[];
  /** Rows of a job type other than specific_viewpoint landed by this batch, as `landedRowKey` writes them. */
  landedRows: string[];
}

export interface SlackPost {
  /** Epoch ms. */
  at: number;
  text: string;
  accepted: boolean;
}

/** A batch's terminal `batch.status.changed` and `batch.finalized` events as stored (original publishes only). */
export interface StoredEventIds {
  terminalStatus: Map<number, Set<string>>;
  finalized: Map<number, Set<string>>;
}

/** Everything the checks look at, gathered after the drain. */
export interface RunObservations {
  expectations: BatchExpectation[];
  states: Map<number, BatchState>;
  slackPosts: SlackPost[];
  consumers: ConsumerState[];
  deadLetters: DeadLetter[];
  unpublishedOutbox: number;
  events: StoredEventIds;
  faults: FaultRecord[];
  exits: ExitRecord[];
  /** Where a canary secret was seen (log lines, tables, Slack bodies, DLQ headers). */
  canarySightings: string[];
  /** How long the drain took, and its bound (I6); `drainMs` is null when the bound passed. */
  drainMs: number | null;
  drainBoundMs: number;
  /** Epoch ms of the run's start, to relate Slack timestamps to fault moments. */
  startedAt: number;
}
