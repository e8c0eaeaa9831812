import type { InvariantResult } from './invariants.ts';
import type { FaultRecord } from './nemesis.ts';
import { BATCH_KINDS, type BatchKind, FAULT_KINDS, type FaultKind, type ProfileName } from './profiles.ts';

export interface FaultSummary {
  kind: FaultKind;
  planned: number;
  injected: number;
  skipped: number;
  /** For HTTP faults: the requests they were applied to. */
  applied: number | null;
}

export interface ChaosReport {
  profile: ProfileName;
  seed: number;
  batches: number;
  requests: number;
  batchesByKind: Record<BatchKind, number>;
  faults: FaultSummary[];
  invariants: InvariantResult[];
  held: boolean;
  timings: { setupMs: number; faultPhaseMs: number; drainMs: number | null; totalMs: number };
  /** Accepted Slack messages about no batch of the run (alerts, operational errors), shortened. */
  otherSlackMessages: string[];
  /** Process exits by cause (nemesis kills and SIGTERMs, start failures while a dependency was down, crashes). */
  exits: Record<string, number>;
  /** Where the service logs of a failed run were kept. */
  artifactsDir: string | null;
  /** The command that replays this run's plan. */
  reproduce: string;
}

export function summarizeFaults(records: readonly FaultRecord[]): FaultSummary[] {
  return FAULT_KINDS.map((kind) => {
    const ofKind = records.filter((record) => record.kind === kind);
    const hits = ofKind.filter((record) => record.hits);
    return {
      kind,
      planned: ofKind.length,
      injected: ofKind.filter((record) => record.outcome === 'injected').length,
      skipped: ofKind.filter((record) => record.outcome === 'skipped').length,
      applied: hits.length > 0 ? hits.reduce((sum, record) => sum + record.hits!(), 0) : null,
    };
  });
}

export const countByKind = (kinds: readonly BatchKind[]): Record<BatchKind, number> =>
  Object.fromEntries(BATCH_KINDS.map((kind) => [kind, kinds.filter((k) => k === kind).length])) as Record<
    BatchKind,
    number
  >;

const fmt = (n: number) => n.toLocaleString('en-US');
const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

function table(header: string[], rows: string[][], rightAligned: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The human summary: what ran, every fault kind with its counts, every invariant with what it checked. */
export function formatReport(report: ChaosReport): string {
  const kinds = BATCH_KINDS.filter((kind) => report.batchesByKind[kind] > 0)
    .map((kind) => `${kind} ${report.batchesByKind[kind]}`)
    .join(', ');
  const faults = table(
    ['fault', 'planned', 'injected', 'skipped', 'requests hit'],
    report.faults.map((f) => [
      f.kind,
      String(f.planned),
      String(f.injected),
      String(f.skipped),
      f.applied === null ? '' : String(f.applied),
    ]),
    new Set([1, 2, 3, 4]),
  );
  const invariants = table(
    ['id', 'invariant', 'result', 'checked'],
    report.invariants.map((inv) => [
      inv.id,
      inv.name,
      inv.held
        ? 'held'
        : `VIOLATED (${Object.entries(inv.tally)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')})`,
      inv.checked,
    ]),
    new Set(),
  );
  const violations = report.invariants
    .filter((inv) => !inv.held)
    .flatMap((inv) => inv.examples.map((example) => `  ${inv.id}: ${example}`));
  const exits = Object.entries(report.exits)
    .map(([cause, n]) => `${cause} ${n}`)
    .join(', ');
  return [
    `batchline chaos — profile ${report.profile}, seed ${report.seed}`,
    `batches: ${report.batches} (${fmt(report.requests)} requests; ${kinds})`,
    `time: setup ${seconds(report.timings.setupMs)}, faults ${seconds(report.timings.faultPhaseMs)}, ` +
      `drain ${seconds(report.timings.drainMs)}, total ${seconds(report.timings.totalMs)}`,
    `process exits: ${exits || 'none'}`,
    '',
    faults,
    '',
    invariants,
    ...(report.otherSlackMessages.length > 0
      ? [
          '',
          `other Slack messages (${report.otherSlackMessages.length}):`,
          ...report.otherSlackMessages.slice(0, 5).map((text) => `  ${text}`),
        ]
      : []),
    '',
    report.held
      ? `ALL INVARIANTS HELD (seed ${report.seed})`
      : [`VIOLATIONS (seed ${report.seed}; reproduce: ${report.reproduce})`, ...violations].join('\n'),
    ...(report.artifactsDir ? [`service logs kept in ${report.artifactsDir}`] : []),
  ].join('\n');
}
