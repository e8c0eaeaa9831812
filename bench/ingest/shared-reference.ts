/**
 * The shared ingest reference (`shared/perf-reference`, written outside this repository): found beside the
 * checkout, copied into a cache folder with its own dependencies (the shared folder is never written), its
 * generator's files made once, and its streaming script run as its own process against a database of its own.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Viewpoint } from '@batchline/domain';
import pg from 'pg';
import { cpuSeconds } from './proc-stats.ts';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * `PERF_REFERENCE_DIR`, else the nearest `shared/perf-reference` beside the checkout or one of its parents (CI
 * checks out next to `shared/`; a git worktree sits a level deeper).
 */
export function findSharedReference(): string {
  const configured = process.env.PERF_REFERENCE_DIR;
  if (configured) return resolve(configured);
  for (let dir = resolve(REPO_ROOT, '..'); ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'perf-reference');
    if (existsSync(join(candidate, 'stream-ref.mjs'))) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new Error(
    `no shared/perf-reference found beside ${REPO_ROOT} or its parents; set PERF_REFERENCE_DIR to the folder`,
  );
}

/** The generator's output: its file and what it says the file holds. */
export interface GeneratedFile {
  path: string;
  bytes: number;
  lines: number;
  okLines: number;
  assocRows: number;
}

/** The shared generator's viewpoint catalogue: ids 1..500 (its lib/common.mjs CATALOGUE_MAX); 501+ are unknown. */
export const generatorViewpoints = (): Viewpoint[] =>
  Array.from({ length: 500 }, (_, i) => ({ id: i + 1, name: `viewpoint ${i + 1}` }));

/** The request ids of a generated file's lines (`offset` higher in a renumbered copy), as `submit` records them. */
export function requestIdsOf(generated: GeneratedFile, offset = 0): number[] {
  // gen.mjs numbers the review sentences of its lines from 1,000,001 on.
  return Array.from({ length: generated.lines }, (_, i) => 1_000_001 + offset + i);
}

export interface SharedReference {
  dir: string;
  /** Writes (once, then reuses) the generator's file: `padToMb` 0 for ~40 MB, 200 for the long-line one. */
  generate(padToMb: number): Promise<GeneratedFile>;
}

/** Copies the reference into `~/.cache/batchline-bench/<hash of its files>` and installs its dependencies there. */
export async function installSharedReference(source = findSharedReference()): Promise<SharedReference> {
  const hash = createHash('sha256');
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
    );
  for (const file of files(source).sort()) hash.update(file.slice(source.length)).update(readFileSync(file));
  const cacheRoot = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const dir = join(cacheRoot, 'batchline-bench', `perf-reference-${hash.digest('hex').slice(0, 12)}`);
  if (!existsSync(join(dir, 'node_modules', 'pg-copy-streams'))) {
    await mkdir(dir, { recursive: true });
    await cp(source, dir, { recursive: true });
    await run('chmod', ['-R', 'u+w', dir]);
    process.stderr.write(`installing the shared reference in ${dir}\n`);
    await run('npm', ['install', '--no-audit', '--no-fund', '--silent'], { cwd: dir });
  }
  // Prints, when the process exits, its CPU seconds and peak RSS (start-up included) on stderr.
  await writeFile(
    join(dir, 'usage-on-exit.mjs'),
    "process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write('\\nBENCH_USAGE ' + " +
      "JSON.stringify({ cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6, peakRssBytes: u.maxRSS * 1024 }) + '\\n'); });\n",
  );
  return {
    dir,
    async generate(padToMb) {
      const path = join(dir, 'data', padToMb > 0 ? `batch-50k-${padToMb}mb.jsonl` : 'batch-50k.jsonl');
      const summaryPath = `${path}.summary.json`;
      if (!existsSync(summaryPath)) {
        await mkdir(dirname(path), { recursive: true });
        // The associations' CSV (written for the plain file only) goes beside it, not into the script's lib/.
        const options = padToMb > 0 ? ['--pad-to-mb', String(padToMb)] : ['--csv', `${path}.assoc.csv`];
        const args = ['gen.mjs', '--out', path, ...options];
        const { stdout } = await run(process.execPath, args, { cwd: dir, maxBuffer: 1 << 20 });
        await writeFile(summaryPath, stdout.trim().split('\n').at(-1)!);
      }
      const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as Omit<GeneratedFile, 'path'>;
      return {
        path,
        bytes: summary.bytes,
        lines: summary.lines,
        okLines: summary.okLines,
        assocRows: summary.assocRows,
      };
    },
  };
}

export interface ReferenceRun {
  /** Whole process, from spawn to exit, start-up included. */
  seconds: number;
  cpuSeconds: number;
  /** CPU of its Postgres backend (sampled every 10 ms from /proc while it lives, so ≤ 10 ms short). */
  postgresCpuSeconds: number;
  peakRssBytes: number;
  /** What the script printed: lines read, association rows, failed lines. */
  lines: number;
  rows: number;
  failed: number;
}

const databaseName = (script: string) => `bench_shared_${script.replace(/\W/g, '_')}_${process.pid}`;

/**
 * Runs `script` (stream-ref.mjs or monolith.mjs) of the installed reference on `file` with `args`, in a database
 * created for it (the script's own schema), dropped afterwards.
 */
export async function runSharedReference(
  reference: SharedReference,
  script: string,
  file: string,
  args: string[],
): Promise<ReferenceRun> {
  const database = databaseName(script);
  const env = {
    ...process.env,
    PGHOST: '127.0.0.1',
    PGPORT: '5432',
    PGUSER: 'postgres',
    PGDATABASE: database,
  };
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${database}`);
    await run(process.execPath, ['-e', "import('./lib/db.mjs').then(m => m.ensureDb()).then(c => c.end())"], {
      cwd: reference.dir,
      env,
    });
    const backendCpu = new Map<number, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await admin.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = $1',
          [database],
        );
        for (const { pid } of rows) {
          try {
            backendCpu.set(pid, cpuSeconds(pid));
          } catch {
            // The backend ended in between.
          }
        }
        await new Promise((done) => setTimeout(done, 10));
      }
    })();
    const started = performance.now();
    const child = spawn(
      process.execPath,
      ['--import', join(reference.dir, 'usage-on-exit.mjs'), script, '--file', file, ...args],
      { cwd: reference.dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => {
      stdout += data;
    });
    child.stderr.on('data', (data: Buffer) => {
      stderr += data;
    });
    const code = await new Promise<number | null>((done) => child.on('close', done));
    const seconds = (performance.now() - started) / 1000;
    sampling = false;
    await sampler;
    if (code !== 0) throw new Error(`${script} exited with ${code}: ${stderr}`);
    const usage = /BENCH_USAGE (.*)/.exec(stderr);
    if (!usage) throw new Error(`${script} printed no usage: ${stderr}`);
    const { cpuSeconds: cpu, peakRssBytes } = JSON.parse(usage[1]!) as {
      cpuSeconds: number;
      peakRssBytes: number;
    };
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      lines: number;
      rows: number;
      failed: number;
    };
    return {
      seconds,
      cpuSeconds: cpu,
      postgresCpuSeconds: [...backendCpu.values()].reduce((sum, value) => sum + value, 0),
      peakRssBytes,
      lines: report.lines,
      rows: report.rows,
      failed: report.failed ?? 0,
    };
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database}`).catch(() => {});
    await admin.end();
  }
}
