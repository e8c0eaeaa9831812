import type { InvariantResult } from './invariants.ts';
import { isDefaultJobType, landedRowKey } from './job-types.ts';
import type { RunObservations } from './observations.ts';

const MAX_EXAMPLES = 8;

/**
 * I2b: the second job type's table holds exactly the rows the oracle's answers imply (each succeeded request's
 * `rows`, keyed by its request id): none lost, none doubled, none unexpected. Counts are I2's.
 */
export function secondJobTypeRows(run: RunObservations): InvariantResult {
  const tally: Record<string, number> = {};
  const examples: string[] = [];
  const add = (kind: string, example: string) => {
    tally[kind] = (tally[kind] ?? 0) + 1;
    if (examples.length < MAX_EXAMPLES) examples.push(example);
  };
  let batches = 0;
  let rows = 0;
  for (const expectation of run.expectations) {
    const state = run.states.get(expectation.batchLogId);
    const label = `batch ${expectation.batchLogId} (${expectation.jobType})`;
    if (isDefaultJobType(expectation.jobType)) {
      if (state && state.landedRows.length > 0) {
        add('unexpected', `${label}: ${state.landedRows.length} rows in another job type's table`);
      }
      continue;
    }
    batches += 1;
    if (!state) continue; // I1 reports the missing batch log
    const expected = new Set(
      expectation.outcomes.flatMap((o) =>
        o.outcome === 'succeeded' ? o.rows.map((values) => landedRowKey(o.requestId, values)) : [],
      ),
    );
    rows += expected.size;
    const actual = new Set(state.landedRows);
    if (actual.size !== state.landedRows.length) add('duplicated', `${label}: duplicate rows`);
    for (const row of expected) if (!actual.has(row)) add('lost', `${label}: row ${row} missing`);
    for (const row of actual)
      if (!expected.has(row)) add('unexpected', `${label}: row ${row} should not exist`);
  }
  return {
    id: 'I2b',
    name: 'second job type: its rows exactly the oracle’s',
    held: examples.length === 0,
    checked: `${batches} batches, ${rows.toLocaleString('en-US')} rows`,
    tally,
    examples,
  };
}
