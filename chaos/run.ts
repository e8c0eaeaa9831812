/**
 * `npm run chaos -- [--profile short|long] [--seed N] [--batches N] [--duration 10m] [--keep]`: the whole system
 * under a seeded nemesis, then the invariants I1–I7. Prints the faults and invariants table; exits 1 on any
 * violation (with the seed to reproduce it), 2 on bad arguments or a harness failure.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '@batchline/config';
import { formatReport, PROFILES, type ProfileName, randomSeed, runChaos } from './index.ts';

const USAGE =
  'usage: npm run chaos -- [--profile short|long] [--seed N] [--batches N] [--duration DURATION] [--keep] [--quiet]';

function fail(message: string): never {
  console.error(`chaos: ${message}\n${USAGE}`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        profile: { type: 'string', default: 'short' },
        seed: { type: 'string' },
        batches: { type: 'string' },
        duration: { type: 'string' },
        keep: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();

if (values.help) {
  console.log(
    [
      USAGE,
      '',
      'Runs poller, fetcher and persister (two replicas each) and the notifier as processes against private',
      'Postgres and NATS servers, the OpenAI emulator and a Slack receiver; submits batches while a seeded nemesis',
      'kills, stops and pauses processes, restarts NATS and Postgres, and injects provider, Slack and event faults;',
      'then heals, drains and checks the invariants I1–I7 of docs/fault-injection.md against the emulator.',
      '',
      '  --profile   short (about 3 minutes, a dozen small batches) or long (hundreds of batches, ≤ 20 minutes)',
      '  --seed      replay the plan of an earlier run (the seed is printed at the start and in the report)',
      "  --batches   number of batches instead of the profile's",
      "  --duration  length of the fault window (e.g. 90s, 10m) instead of the profile's",
      '  --keep      keep the service logs even when every invariant held',
      '  --quiet     print only the report',
    ].join('\n'),
  );
  process.exit(0);
}

const profile = values.profile as ProfileName;
if (!(profile in PROFILES)) fail(`--profile must be short or long, not ${JSON.stringify(values.profile)}`);
const wholeNumber = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) fail(`--${name} must be a whole number, not ${JSON.stringify(text)}`);
  return Number(text);
};
const seed = wholeNumber('seed', values.seed) ?? randomSeed();
const batches = wholeNumber('batches', values.batches);
if (batches === 0) fail('--batches must be at least 1');
let durationMs: number | undefined;
if (values.duration !== undefined) {
  durationMs = parseDuration(values.duration) ?? fail(`--duration must be a duration such as 90s or 10m`);
}

try {
  const { report } = await runChaos({
    profile,
    seed,
    batches,
    durationMs,
    keepArtifacts: values.keep,
    log: values.quiet ? undefined : (line) => console.error(line),
  });
  console.log(formatReport(report));
  process.exit(report.held ? 0 : 1);
} catch (error) {
  console.error(
    `chaos: the run could not complete: ${error instanceof Error ? (error.stack ?? error.message) : error}`,
  );
  console.error(`(seed ${seed})`);
  process.exit(2);
}
