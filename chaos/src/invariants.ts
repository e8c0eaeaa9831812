import { BatchStatus } from '@batchline/domain';
import { secondJobTypeRows } from './job-type-rows.ts';
import type { BatchExpectation, BatchState, RunObservations, SlackPost } from './observations.ts';
import { CHAOS_CATALOGUE } from './workload.ts';

export interface InvariantResult {
  id: string;
  name: string;
  held: boolean;
  /** What was checked, e.g. "12 batches, 4,310 requests". */
  checked: string;
  /** Counts by kind of difference (lost, duplicated, wrong, ...); empty when it held. */
  tally: Record<string, number>;
  /** The first few violations, precise enough to find them. */
  examples: string[];
}

const MAX_EXAMPLES = 8;
/** Slack allows about one message per second per webhook; a little receive-side jitter is tolerated. */
const MIN_POST_GAP_MS = 950;
/** How the notifier marks a message whose earlier attempt may already have reached Slack. */
const POSSIBLE_REPEAT = /possible repeat/i;

class Finding {
  readonly tally: Record<string, number> = {};
  readonly examples: string[] = [];

  add(kind: string, example: string): void {
    this.tally[kind] = (this.tally[kind] ?? 0) + 1;
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(example);
  }

  result(id: string, name: string, checked: string): InvariantResult {
    return {
      id,
      name,
      checked,
      held: this.examples.length === 0,
      tally: this.tally,
      examples: this.examples,
    };
  }
}

const expectedCode = (outcome: BatchExpectation['outcomes'][number]) =>
  outcome.outcome === 'succeeded' ? 'succeeded' : `failed:${outcome.errorCode}`;
const actualCode = (row: { outcome: string; errorCode: string | null }) =>
  row.outcome === 'succeeded' ? 'succeeded' : `failed:${row.errorCode}`;
const sentenceIdOf = (customId: string) => customId.slice('rs-'.length);
const fmt = (n: number) => n.toLocaleString('en-US');

/** Checks I1–I7 (and that no process crashed on its own) over the observations of a run. */
export function evaluateInvariants(run: RunObservations): InvariantResult[] {
  return [
    results(run),
    associations(run),
    secondJobTypeRows(run),
    statuses(run),
    slackMessages(run),
    slackPacing(run),
    bus(run),
    liveness(run),
    secrecy(run),
    processes(run),
  ];
}

function stateOf(
  run: RunObservations,
  expectation: BatchExpectation,
  finding: Finding,
): BatchState | undefined {
  const state = run.states.get(expectation.batchLogId);
  if (!state) finding.add('missing batch log', `batch log ${expectation.batchLogId} is not in Postgres`);
  return state;
}

/** I1: every input request has exactly one outcome row, equal to the oracle's; none unexpected. */
function results(run: RunObservations): InvariantResult {
  const finding = new Finding();
  let requests = 0;
  for (const expectation of run.expectations) {
    const label = `batch ${expectation.batchLogId} (${expectation.kind})`;
    if (!expectation.oracleFinal) finding.add('oracle not final', `${label}: the emulator never finished it`);
    const state = stateOf(run, expectation, finding);
    if (!state) continue;
    const expectedIds = new Set<string>();
    for (const outcome of expectation.outcomes) {
      requests += 1;
      expectedIds.add(outcome.customId);
      const row = state.results.get(outcome.customId);
      if (!row) {
        finding.add('lost', `${label}: ${JSON.stringify(outcome.customId)} has no result row`);
      } else if (row.rows > 1) {
        finding.add('duplicated', `${label}: ${JSON.stringify(outcome.customId)} has ${row.rows} rows`);
      } else if (actualCode(row) !== expectedCode(outcome)) {
        finding.add(
          'wrong',
          `${label}: ${JSON.stringify(outcome.customId)} is ${actualCode(row)}, expected ${expectedCode(outcome)}`,
        );
      }
    }
    for (const customId of state.results.keys()) {
      if (!expectedIds.has(customId)) {
        finding.add('unexpected', `${label}: ${JSON.stringify(customId)} was never requested`);
      }
    }
  }
  return finding.result(
    'I1',
    'results: one row per request, as the oracle served it',
    `${run.expectations.length} batches, ${fmt(requests)} requests`,
  );
}

/** I2: associations equal the oracle's set; counts add up. */
function associations(run: RunObservations): InvariantResult {
  const finding = new Finding();
  const knownViewpoints = new Set(CHAOS_CATALOGUE.map((vp) => vp.id));
  let pairs = 0;
  for (const expectation of run.expectations) {
    const state = stateOf(run, expectation, finding);
    if (!state) continue;
    const label = `batch ${expectation.batchLogId}`;
    const expected = new Set(
      expectation.outcomes.flatMap((o) =>
        o.outcome === 'succeeded' ? o.viewpointIds.map((vp) => `${sentenceIdOf(o.customId)}:${vp}`) : [],
      ),
    );
    pairs += expected.size;
    const actual = new Set(state.associations);
    if (actual.size !== state.associations.length)
      finding.add('duplicated', `${label}: duplicate association rows`);
    for (const pair of expected)
      if (!actual.has(pair)) finding.add('lost', `${label}: association ${pair} missing`);
    for (const pair of actual) {
      if (!expected.has(pair)) finding.add('unexpected', `${label}: association ${pair} should not exist`);
      if (!knownViewpoints.has(Number(pair.split(':')[1]))) {
        finding.add('unknown viewpoint', `${label}: association ${pair} names an unknown viewpoint`);
      }
    }
    const succeeded = expectation.outcomes.filter((o) => o.outcome === 'succeeded').length;
    const total = expectation.outcomes.length;
    if (state.totalSentences !== total) {
      finding.add('counts', `${label}: total_sentences ${state.totalSentences}, expected ${total}`);
    }
    if (state.processedSentences !== succeeded || state.failedSentences !== total - succeeded) {
      finding.add(
        'counts',
        `${label}: processed/failed ${state.processedSentences}/${state.failedSentences}, expected ${succeeded}/${total - succeeded}`,
      );
    }
  }
  return finding.result(
    'I2',
    'associations exact; processed + failed = total',
    `${run.expectations.length} batches, ${fmt(pairs)} associations`,
  );
}

/** I3: the right final status and reason, reached by exactly one terminal transition; log_details explains it. */
function statuses(run: RunObservations): InvariantResult {
  const finding = new Finding();
  for (const expectation of run.expectations) {
    const state = stateOf(run, expectation, finding);
    if (!state) continue;
    const label = `batch ${expectation.batchLogId} (${expectation.kind}, ${expectation.providerBatchId})`;
    if (state.status !== expectation.status) {
      finding.add('wrong status', `${label}: status ${state.status}, expected ${expectation.status}`);
    }
    if (state.status !== BatchStatus.pending && state.reason !== expectation.reason) {
      finding.add(
        'wrong reason',
        `${label}: log_details.reason ${state.reason}, expected ${expectation.reason}`,
      );
    }
    if (state.status !== BatchStatus.pending && state.invalidLines !== expectation.unattributableLines) {
      finding.add(
        'invalid lines',
        `${label}: log_details counts ${state.invalidLines} unreadable lines, the oracle served ${expectation.unattributableLines}`,
      );
    }
    const terminal = run.events.terminalStatus.get(expectation.batchLogId)?.size ?? 0;
    const finalized = run.events.finalized.get(expectation.batchLogId)?.size ?? 0;
    if (terminal !== 1)
      finding.add('terminal events', `${label}: ${terminal} distinct terminal status events`);
    if (finalized !== 1)
      finding.add('finalized events', `${label}: ${finalized} distinct batch.finalized events`);
  }
  return finding.result(
    'I3',
    'status and reason right; one terminal transition',
    `${run.expectations.length} batches`,
  );
}

/** I4a: one final Slack message per batch (a flagged crash-window duplicate excepted), with the right text. */
function slackMessages(run: RunObservations): InvariantResult {
  const finding = new Finding();
  const accepted = run.slackPosts.filter((post) => post.accepted);
  const claimed = new Set<SlackPost>();
  let flaggedDuplicates = 0;
  for (const expectation of run.expectations) {
    const state = run.states.get(expectation.batchLogId);
    const label = `batch ${expectation.batchLogId} (${expectation.providerBatchId})`;
    const posts = accepted.filter((post) => post.text.includes(expectation.providerBatchId));
    for (const post of posts) claimed.add(post);
    if (posts.length === 0) {
      finding.add('missing', `${label}: no final message`);
      continue;
    }
    if (posts.length > 1 && repeatsExplained(run, posts)) {
      flaggedDuplicates += posts.length - 1;
    } else if (posts.length > 1) {
      finding.add(
        'duplicated',
        `${label}: ${posts.length} final messages, not each a flagged repeat after a notifier interruption`,
      );
    }
    if (!state) continue;
    const word = state.status === BatchStatus.completed ? 'completed' : 'failed';
    const counts = `${state.processedSentences}/${state.totalSentences}`;
    for (const post of posts) {
      // In a digest, the batch's own line must say it.
      const line = post.text.split('\n').find((l) => l.includes(expectation.providerBatchId)) ?? '';
      if (!new RegExp(`\\b${word}\\b`).test(line) || !line.includes(counts)) {
        finding.add('text', `${label}: its line lacks "${word}" or "${counts}": ${line.slice(0, 160)}`);
      }
    }
    if (!state.finalNotifiedAt) finding.add('not stamped', `${label}: final_notified_at is not set`);
  }
  const others = accepted.length - claimed.size;
  const result = finding.result(
    'I4',
    'one final Slack message per final status',
    `${run.expectations.length} batches, ${accepted.length} messages accepted` +
      `${flaggedDuplicates ? `, ${flaggedDuplicates} flagged crash-window duplicate(s)` : ''}` +
      `${others ? `, ${others} other message(s)` : ''}`,
  );
  return result;
}

/**
 * The documented ambiguity: Slack accepted a post, then the notifier could not record it (killed, stopped, died at
 * a crash point, or its database went away), so a later attempt posts again. Each repeat is allowed only when it
 * says it is a possible repeat and such an interruption happened between it and the post before it.
 */
function repeatsExplained(run: RunObservations, posts: SlackPost[]): boolean {
  const sorted = [...posts].sort((a, b) => a.at - b.at);
  return sorted.slice(1).every((repeat, i) => {
    const before = sorted[i]!;
    return POSSIBLE_REPEAT.test(repeat.text) && interruptedBetween(run, before.at, repeat.at);
  });
}

function interruptedBetween(run: RunObservations, fromAt: number, toAt: number): boolean {
  const overlaps = (fromMs: number, toMs: number) =>
    run.startedAt + fromMs <= toAt && run.startedAt + toMs >= fromAt;
  const notifierFault = run.faults.some((fault) => {
    const interrupts =
      ((fault.kind === 'kill' || fault.kind === 'pause' || fault.kind === 'terminate') &&
        fault.target?.startsWith('notifier-')) ||
      fault.kind.startsWith('postgres-');
    const from = fault.startedAtMs ?? 0;
    return interrupts && fault.outcome === 'injected' && overlaps(from, fault.endedAtMs ?? from);
  });
  const crashPointExit = run.exits.some(
    (exit) =>
      exit.cause === 'crash-point' && exit.slot.startsWith('notifier-') && overlaps(exit.atMs, exit.atMs),
  );
  return notifierFault || crashPointExit;
}

/** I4b: never more than one POST per second to the webhook. */
function slackPacing(run: RunObservations): InvariantResult {
  const finding = new Finding();
  const times = run.slackPosts.map((post) => post.at).sort((a, b) => a - b);
  let minGap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    minGap = Math.min(minGap, gap);
    if (gap < MIN_POST_GAP_MS) {
      finding.add('too fast', `posts ${gap} ms apart at +${times[i]! - run.startedAt} ms`);
    }
  }
  return finding.result(
    'I4b',
    'at most one Slack POST per second',
    `${times.length} POSTs${Number.isFinite(minGap) ? `, smallest gap ${minGap} ms` : ''}`,
  );
}

/** I5: consumers drained, outbox drained, DLQ holding exactly the injected poison. */
function bus(run: RunObservations): InvariantResult {
  const finding = new Finding();
  for (const consumer of run.consumers) {
    if (consumer.pending !== 0 || consumer.ackPending !== 0) {
      finding.add(
        'not drained',
        `consumer ${consumer.consumer}: ${consumer.pending} pending, ${consumer.ackPending} awaiting ack`,
      );
    }
  }
  if (run.unpublishedOutbox > 0)
    finding.add('outbox', `${run.unpublishedOutbox} outbox rows never published`);
  const injected = run.faults.filter((fault) => fault.poison);
  const key = (stream: string, seq: number) => `${stream}:${seq}`;
  const letters = new Set(run.deadLetters.map((letter) => key(letter.originStream, letter.originSeq)));
  const poison = new Set(injected.map((fault) => key(fault.poison!.stream, fault.poison!.seq)));
  for (const letter of run.deadLetters) {
    if (!poison.has(key(letter.originStream, letter.originSeq))) {
      finding.add(
        'unexplained dead letter',
        `DLQ holds ${letter.subject} from ${key(letter.originStream, letter.originSeq)}: ${letter.error.slice(0, 200)}`,
      );
    }
  }
  for (const fault of injected) {
    if (!letters.has(key(fault.poison!.stream, fault.poison!.seq))) {
      finding.add('poison not dead-lettered', `poison #${fault.id} on ${fault.target} is not in the DLQ`);
    }
  }
  return finding.result(
    'I5',
    'consumers and outbox drained; DLQ = injected poison',
    `${run.consumers.length} consumers, ${run.deadLetters.length} dead letters, ${injected.length} poison injected`,
  );
}

/** I6: the drain finished within its bound. */
function liveness(run: RunObservations): InvariantResult {
  const finding = new Finding();
  if (run.drainMs === null) {
    finding.add('bound passed', `not drained within ${fmt(run.drainBoundMs)} ms of the heal`);
  }
  return finding.result(
    'I6',
    'drained within the bound after the heal',
    run.drainMs === null
      ? `bound ${fmt(run.drainBoundMs)} ms`
      : `${fmt(run.drainMs)} ms of ${fmt(run.drainBoundMs)} ms`,
  );
}

/** I7: no canary secret anywhere the system writes. */
function secrecy(run: RunObservations): InvariantResult {
  const finding = new Finding();
  for (const sighting of run.canarySightings) finding.add('leak', sighting);
  return finding.result(
    'I7',
    'no canary secret in logs, tables, Slack or DLQ',
    'every log line and text column',
  );
}

/** No process ended on its own after it had started; every SIGTERM drained and exited 0 (unless a dependency was down). */
function processes(run: RunObservations): InvariantResult {
  const finding = new Finding();
  for (const exit of run.exits) {
    if (exit.cause === 'crash') {
      finding.add(
        'crash',
        `${exit.slot} (pid ${exit.pid}) exited with ${exit.code} at +${fmt(exit.atMs)} ms`,
      );
    }
  }
  const outages = run.faults.filter(
    (fault) => fault.kind.startsWith('nats-') || fault.kind.startsWith('postgres-'),
  );
  for (const fault of run.faults) {
    if (fault.kind !== 'terminate' || fault.outcome !== 'injected' || fault.exitCode === 0) continue;
    const overlapped = outages.some(
      (outage) =>
        (outage.startedAtMs ?? 0) <= (fault.endedAtMs ?? 0) &&
        (outage.endedAtMs ?? 0) >= (fault.startedAtMs ?? 0),
    );
    if (!overlapped) {
      finding.add(
        'unclean stop',
        `SIGTERM of ${fault.target} at +${fmt(fault.startedAtMs ?? 0)} ms exited ${fault.exitCode}`,
      );
    }
  }
  return finding.result(
    'P1',
    'no process crashed on its own; SIGTERM drains and exits 0',
    `${run.exits.length} exits`,
  );
}
