import {
  BATCH_KINDS,
  type ChaosRun,
  evaluateInvariants,
  FAULT_KINDS,
  formatReport,
  planFaults,
  planWorkload,
  profileWith,
  Rng,
  type RunObservations,
  runChaos,
} from '@batchline/chaos';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The short chaos profile (reliability.md (ii), the rows marked CI): the services as processes, two replicas each
 * of poller, fetcher and persister, a dozen small batches of every kind, and a few faults of each kind; then
 * heal, drain and check I1–I7 against the emulator. `CHAOS_SEED` replays a given plan.
 */
describe('chaos, short profile: nothing lost, nothing doubled', () => {
  let run: ChaosRun;
  const timeline: string[] = [];

  beforeAll(async () => {
    const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : undefined;
    run = await runChaos({ profile: 'short', seed, log: (line) => timeline.push(line) });
    console.log(formatReport(run.report));
    if (!run.report.held) console.log(timeline.join('\n'));
  }, 300_000);

  it('injected every kind of fault and submitted every kind of batch', () => {
    const notInjected = run.report.faults.filter((fault) => fault.injected === 0).map((fault) => fault.kind);
    expect(notInjected).toEqual([]);
    expect(run.report.faults.map((fault) => fault.kind)).toEqual([...FAULT_KINDS]);
    const missingKinds = BATCH_KINDS.filter((kind) => run.report.batchesByKind[kind] === 0);
    expect(missingKinds).toEqual([]);
    // The provider faults reached the services' requests (not only armed; each kind's hits are in the report).
    const hits = run.report.faults.reduce((sum, fault) => sum + (fault.applied ?? 0), 0);
    expect(hits).toBeGreaterThan(0);
  });

  it('held every invariant (seed in the report)', () => {
    const violated = run.report.invariants
      .filter((invariant) => !invariant.held)
      .map((invariant) => ({ id: invariant.id, tally: invariant.tally, examples: invariant.examples }));
    expect(violated, `reproduce with: ${run.report.reproduce}`).toEqual([]);
    expect(run.report.invariants.map((invariant) => invariant.id)).toEqual([
      'I1',
      'I2',
      'I2b',
      'I3',
      'I4',
      'I4b',
      'I5',
      'I6',
      'I7',
      'P1',
    ]);
  });

  it('checked real data: every batch final, every request accounted for', () => {
    const { expectations, states } = run.observations;
    expect(expectations).toHaveLength(run.report.batches);
    const requests = expectations.reduce((sum, e) => sum + e.outcomes.length, 0);
    expect(requests).toBe(run.report.requests);
    expect([...states.values()].every((state) => state.status === 2 || state.status === 9)).toBe(true);
    expect(expectations.some((e) => e.outcomes.some((o) => o.outcome === 'succeeded'))).toBe(true);
    expect(expectations.some((e) => e.outcomes.some((o) => o.outcome === 'failed'))).toBe(true);
  });

  it('would have caught a lost row, a doubled association and a second Slack message', () => {
    const tampered = tamper(run.observations);
    const byId = new Map(evaluateInvariants(tampered).map((invariant) => [invariant.id, invariant]));
    expect(byId.get('I1')?.tally.lost).toBe(1);
    expect(byId.get('I2')?.tally.unexpected).toBe(1);
    // A digest names several batches: repeating it doubles each one's announcement.
    expect(byId.get('I4')?.tally.duplicated).toBeGreaterThanOrEqual(1);
  });

  it('landed a second job type (review_sentiment) beside the viewpoints, and would have caught a lost or doubled row', () => {
    const { expectations, states } = run.observations;
    const sentiment = expectations.filter((e) => e.jobType === 'review_sentiment');
    expect(sentiment.length).toBeGreaterThan(0);
    expect(expectations.some((e) => e.jobType === 'specific_viewpoint')).toBe(true);
    const landing = sentiment.find((e) => (states.get(e.batchLogId)?.landedRows.length ?? 0) > 0);
    expect(landing, 'a review_sentiment batch landed rows').toBeDefined();
    const original = states.get(landing!.batchLogId)!;
    const [first, ...rest] = original.landedRows;
    const tampered = (landedRows: string[]) =>
      new Map(
        evaluateInvariants({
          ...run.observations,
          states: new Map(states).set(landing!.batchLogId, { ...original, landedRows }),
        }).map((invariant) => [invariant.id, invariant]),
      ).get('I2b');
    expect(tampered(rest)?.tally.lost).toBe(1);
    expect(tampered([...original.landedRows, first!])?.tally.duplicated).toBe(1);
  });
});

describe('a chaos plan', () => {
  const plan = (seed: number) => {
    const rng = new Rng(seed);
    const profile = profileWith('long');
    const labels = [
      'poller-1',
      'poller-2',
      'fetcher-1',
      'fetcher-2',
      'persister-1',
      'persister-2',
      'notifier-1',
    ];
    return {
      workload: planWorkload(profile, rng.fork('workload')),
      faults: planFaults(profile, rng.fork('faults'), labels),
    };
  };

  it('is the same for the same seed, and differs for another', () => {
    expect(plan(7)).toEqual(plan(7));
    expect(plan(8).faults).not.toEqual(plan(7).faults);
    const { workload, faults } = plan(7);
    expect(workload.map((batch) => batch.size)).toContain(50_000);
    // Outages of NATS and Postgres never overlap: each recovery is observed on its own.
    const outages = faults.filter((f) => /^(nats|postgres)-(restart|crash)$/.test(f.kind));
    for (let i = 1; i < outages.length; i++) {
      expect(outages[i]!.atMs).toBeGreaterThanOrEqual(outages[i - 1]!.atMs + outages[i - 1]!.durationMs!);
    }
  });
});

/** A copy of the observations with one result row lost, one association too many and one Slack post repeated. */
function tamper(observations: RunObservations): RunObservations {
  const expectation = observations.expectations.find((e) =>
    e.outcomes.some((o) => o.outcome === 'succeeded'),
  )!;
  const original = observations.states.get(expectation.batchLogId)!;
  const results = new Map(original.results);
  results.delete(expectation.outcomes[0]!.customId);
  const states = new Map(observations.states);
  states.set(expectation.batchLogId, {
    ...original,
    results,
    associations: [...original.associations, '999999999:201'],
  });
  const post = observations.slackPosts.find(
    (p) => p.accepted && p.text.includes(expectation.providerBatchId),
  )!;
  return {
    ...observations,
    states,
    slackPosts: [...observations.slackPosts, { ...post, at: post.at + 1 }],
  };
}
