import type { PipelineRun } from './pipeline-run.ts';
import type { ProcessUsage } from './proc-stats.ts';
import type { ReferenceRun } from './shared-reference.ts';

export const MIB = 1024 * 1024;
const SERVICES = ['poller', 'fetcher', 'persister', 'notifier'];

/** Issue 18's goals, printed beside each figure. */
export const GOALS = {
  wallRatio: 1.0,
  wallRatioStretch: 0.8,
  cpuRatio: 1.3,
  serviceRssMiB: 100,
  flatMiB: 5,
  /** `--concurrent`: no batch's latency above this many times the median. */
  latencySpread: 2,
};

/** One path (`submit`, `track`) of one file: every round of the pipeline and of the reference. */
export interface PathFigures {
  file: string;
  path: string;
  outputBytes: number;
  lines: number;
  rows: number;
  pipeline: PipelineRun[];
  reference: ReferenceRun[];
  monolith: ReferenceRun[];
}

export const medianOf = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The provider's side (the bench serving the file) is the outside world's work: shown, not counted. */
export const PROVIDER_SIDE = 'bench (files)';
export const sumCpu = (usage: Record<string, ProcessUsage>) =>
  Object.entries(usage).reduce(
    (sum, [name, { cpuSeconds }]) => (name === PROVIDER_SIDE ? sum : sum + cpuSeconds),
    0,
  );
export const mib = (bytes: number) => Math.round(bytes / MIB);
export const verdict = (met: boolean) => (met ? 'met' : 'NOT met');

/** The figures the table and the README show: medians of the rounds. */
export function summarize(f: PathFigures) {
  const first = f.pipeline.map((run) => run.landings[0]!);
  const seconds = medianOf(first.map((landing) => landing.seconds));
  const cpu = medianOf(f.pipeline.map((run) => sumCpu(run.usage)));
  const refSeconds = medianOf(f.reference.map((run) => run.seconds));
  const refCpu = medianOf(f.reference.map((run) => run.cpuSeconds + run.postgresCpuSeconds));
  const peak = Object.fromEntries(
    SERVICES.map((name) => [name, medianOf(first.map((landing) => landing.peakRss[name] ?? 0))]),
  );
  const cpuBy = Object.fromEntries(
    Object.keys(f.pipeline[0]?.usage ?? {}).map((name) => [
      name,
      medianOf(f.pipeline.map((run) => run.usage[name]?.cpuSeconds ?? 0)),
    ]),
  );
  return {
    seconds,
    cpu,
    refSeconds,
    refCpu,
    refProcessCpu: medianOf(f.reference.map((run) => run.cpuSeconds)),
    refPostgresCpu: medianOf(f.reference.map((run) => run.postgresCpuSeconds)),
    refRss: medianOf(f.reference.map((run) => run.peakRssBytes)),
    monolithSeconds: f.monolith.length ? medianOf(f.monolith.map((run) => run.seconds)) : null,
    peak,
    cpuBy,
  };
}

export function printTable(all: PathFigures[], load: { before: string; after: string }): void {
  const header = [
    'file',
    'path',
    'pipeline s',
    'reference s',
    `wall ratio (goal ≤ ${GOALS.wallRatio}, stretch ${GOALS.wallRatioStretch})`,
    'pipeline CPU-s',
    'reference CPU-s',
    `CPU ratio (goal ≤ ${GOALS.cpuRatio})`,
    `peak MiB ${SERVICES.join('/')} (goal ≤ ${GOALS.serviceRssMiB} each)`,
    'reference MiB',
  ];
  const rows = all.map((f) => {
    const s = summarize(f);
    const wall = s.seconds / s.refSeconds;
    const cpu = s.cpu / s.refCpu;
    const peaks = SERVICES.map((name) => s.peak[name]!);
    return [
      `${f.file} (${(f.outputBytes / MIB).toFixed(0)} MiB)`,
      f.path,
      s.seconds.toFixed(2),
      s.refSeconds.toFixed(2),
      `${wall.toFixed(2)} ${verdict(wall <= GOALS.wallRatio)}`,
      s.cpu.toFixed(2),
      s.refCpu.toFixed(2),
      `${cpu.toFixed(2)} ${verdict(cpu <= GOALS.cpuRatio)}`,
      `${peaks.map(mib).join('/')} ${verdict(peaks.every((bytes) => bytes <= GOALS.serviceRssMiB * MIB))}`,
      String(mib(s.refRss)),
    ];
  });
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`load average before: ${load.before}; after: ${load.after} (2 cores)`);
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log(
    [
      '',
      'pipeline s: median over the rounds, from provider_terminal_at (the poller saw `completed`) to status 2.',
      'reference s: shared perf-reference `stream-ref.mjs --fk --outcomes`, whole process, start-up included.',
      "CPU-s: pipeline = every service + the database's Postgres backends + nats-server (shared with other users of",
      `  the server); not counted: ${PROVIDER_SIDE}, the provider's side (serving the file; the bench's status polls).`,
      '  reference = its process + its Postgres backend (it reads the file from disk: no download).',
      'Rounds and CPU per process (medians):',
      ...all.flatMap((f) => {
        const s = summarize(f);
        return [
          `  ${f.file} ${f.path}: pipeline s ${f.pipeline.map((run) => run.landings[0]!.seconds.toFixed(2)).join(', ')}; ` +
            `reference s ${f.reference.map((run) => run.seconds.toFixed(2)).join(', ')}` +
            (s.monolithSeconds === null ? '' : `; monolith s ${s.monolithSeconds.toFixed(2)}`),
          `    CPU-s ${Object.entries(s.cpuBy)
            .map(([name, value]) => `${name} ${value.toFixed(2)}`)
            .join(
              ', ',
            )}; reference process ${s.refProcessCpu.toFixed(2)}, its postgres ${s.refPostgresCpu.toFixed(2)}`,
        ];
      }),
    ].join('\n'),
  );
  printFlatness(all);
}

/** Memory flatness: peaks after the first landing and after the last one, and the long-line file against the other. */
function printFlatness(all: PathFigures[]): void {
  const lines: string[] = [];
  for (const f of all) {
    const runs = f.pipeline.filter((run) => run.landings.length > 1);
    if (runs.length === 0) continue;
    const run = runs[0]!;
    const first = run.landings[0]!;
    const last = run.landings.at(-1)!;
    const grew = SERVICES.map((name) => (last.peakRss[name] ?? 0) - (first.peakRss[name] ?? 0));
    lines.push(
      `  ${f.file} ${f.path}: peak MiB after landing 1 → ${run.landings.length}: ` +
        SERVICES.map(
          (name, i) =>
            `${name} ${mib(first.peakRss[name] ?? 0)} → ${mib(last.peakRss[name] ?? 0)} (+${mib(grew[i]!)})`,
        ).join(', ') +
        ` — goal +${GOALS.flatMiB} MiB at most: ${verdict(grew.every((bytes) => bytes <= GOALS.flatMiB * MIB))}`,
      `    per landing: ${run.landings.map((landing) => SERVICES.map((name) => mib(landing.peakRss[name] ?? 0)).join('/')).join('  ')}`,
    );
  }
  for (const path of new Set(all.map((f) => f.path))) {
    const [small, large] = ['40mb', '200mb'].map((file) =>
      all.find((f) => f.file === file && f.path === path),
    );
    if (!small || !large) continue;
    const a = summarize(small).peak;
    const b = summarize(large).peak;
    const diff = SERVICES.map((name) => b[name]! - a[name]!);
    lines.push(
      `  ${path}: 200mb peak − 40mb peak: ${SERVICES.map((name, i) => `${name} ${mib(diff[i]!)}`).join(', ')} MiB — goal ≤ ${GOALS.flatMiB}: ${verdict(diff.every((bytes) => bytes <= GOALS.flatMiB * MIB))}`,
    );
  }
  if (lines.length > 0) console.log(['Memory (flat):', ...lines].join('\n'));
}
