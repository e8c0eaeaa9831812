import type { ServiceName } from '@batchline/supervisor';
import type { ContenderReport } from './contender.ts';
import type { ProcessUsage } from './proc-stats.ts';

const MIB = 1024 * 1024;

export interface PipelineFigures {
  seconds: number;
  results: number;
  associations: number;
  peakRss: Record<string, number>;
  idleRss: Record<string, number>;
  /**
   * CPU used (and time waiting for a CPU) while the batch landed, by each service, by all Postgres backends of
   * the database, and by the bench process, which serves the files as the emulator.
   */
  usage: Record<string, ProcessUsage>;
}

export interface FileFigures {
  file: string;
  lines: number;
  outputBytes: number;
  associations: number;
  /** The run of median time of each contender. */
  pipeline: PipelineFigures | null;
  reference: ContenderReport | null;
  monolith: ContenderReport | null;
  /** Seconds of every round, per contender. */
  rounds: Record<string, number[]>;
}

/** The run of median time (the lower middle one of an even count). */
export function median<T extends { seconds: number }>(runs: T[]): T | null {
  if (runs.length === 0) return null;
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)]!;
}

const mib = (bytes: number | undefined) => (bytes === undefined ? '-' : `${Math.round(bytes / MIB)}`);
const fixed = (value: number | undefined, digits = 2) => (value === undefined ? '-' : value.toFixed(digits));
const SERVICES: ServiceName[] = ['poller', 'fetcher', 'persister', 'notifier'];

/** The figures of every file as one table, then the rounds, CPU and idle memory beneath it. */
export function printTable(figures: FileFigures[]): void {
  const header = [
    'file',
    'MiB',
    'lines',
    'assoc.',
    'pipeline s',
    'rows/s',
    'reference s',
    'monolith s',
    'pipe/ref',
    'pipe/mono',
    ...SERVICES.map((name) => `${name} MiB`),
    'ref MiB',
    'mono MiB',
  ];
  const rows = figures.map(({ pipeline, reference, monolith, ...f }) => {
    const ratio = (other: ContenderReport | null) =>
      pipeline && other ? fixed(pipeline.seconds / other.seconds) : '-';
    return [
      f.file,
      fixed(f.outputBytes / MIB, 1),
      String(f.lines),
      String(f.associations),
      fixed(pipeline?.seconds),
      fixed(pipeline ? (f.lines + f.associations) / pipeline.seconds : undefined, 0),
      fixed(reference?.seconds),
      fixed(monolith?.seconds),
      ratio(reference),
      ratio(monolith),
      ...SERVICES.map((name) => mib(pipeline?.peakRss[name])),
      mib(reference?.peakRssBytes),
      mib(monolith?.peakRssBytes),
    ];
  });
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padStart(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  const used = (name: string, usage: ProcessUsage) =>
    `${name} ${usage.cpuSeconds.toFixed(2)} (${usage.waitedSeconds.toFixed(2)})`;
  const cpu = figures.flatMap(({ file, pipeline, reference, monolith }) => [
    ...(pipeline
      ? [
          `${file} pipeline: ${Object.entries(pipeline.usage)
            .map(([name, usage]) => used(name, usage))
            .join(', ')}`,
        ]
      : []),
    ...Object.entries({ reference, monolith }).flatMap(([name, report]) =>
      report
        ? [`${file} ${name}: ${used('process', report.usage)}, ${used('postgres', report.databaseUsage)}`]
        : [],
    ),
  ]);
  const idle = figures.flatMap(({ file, pipeline }) =>
    pipeline
      ? [`${file}: ${SERVICES.map((name) => `${name} ${mib(pipeline.idleRss[name])}`).join(', ')}`]
      : [],
  );
  console.log(
    [
      '',
      'pipeline s: from provider_terminal_at (the poller saw `completed`) until the bench sees status 2 (polling',
      '  every 20 ms). reference s, monolith s: from the start of the download to the commit, in their',
      '  own processes (process start-up excluded). rows/s: (outcomes + associations) / pipeline s.',
      'MiB: peak RSS (VmHWM) of each process over its life, start-up included.',
      ...(idle.length > 0 ? [`RSS of the services when idle, before the batch: ${idle.join('; ')}`] : []),
      'Seconds of every round:',
      ...figures.map(
        ({ file, rounds }) =>
          `  ${file}: ${Object.entries(rounds)
            .map(([who, seconds]) => `${who} ${seconds.map((s) => s.toFixed(2)).join(', ')}`)
            .join('; ')}`,
      ),
      'CPU seconds while landing the file, median runs (in parentheses: seconds runnable but waiting for a CPU):',
      ...cpu.map((text) => `  ${text}`),
    ].join('\n'),
  );
}
