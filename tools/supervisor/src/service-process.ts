import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The `batchline` executable of this checkout: cli/dist/ while it matches the sources, else them through tsx. */
export const BATCHLINE_BIN = fileURLToPath(new URL('../../../cli/bin/batchline.mjs', import.meta.url));

/**
 * Node flags of a service process (the image's `batchline` wrapper passes the same). A young generation of 8 MiB
 * instead of 32 takes 20–30 MiB off each service's RSS, at no cost the ingest benchmark can see: what a service
 * allocates per line or per message dies young either way. A heap that grows by 10 % of what survives a full
 * collection (V8 grows it by up to 4× by default, more with each busy batch) keeps the fetcher's and persister's
 * peak from climbing batch after batch (138 → 209 MiB over six batches before), without the crash a hard
 * `--max-old-space-size` risks on an 8 MiB result line (docs/performance.md).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=10'];

export type ServiceName = 'poller' | 'fetcher' | 'persister' | 'notifier' | 'monitor' | 'batcher';
export const PIPELINE_SERVICES: readonly ServiceName[] = ['poller', 'fetcher', 'persister', 'notifier'];

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  /** Sends SIGTERM and waits for the exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Runs `batchline run <name>` as a child process. Each output line (JSON logs) goes to `onLine`; by default it is
 * discarded so that a chatty service cannot fill a pipe and stall.
 */
export function spawnServiceProcess(options: {
  name: ServiceName;
  env: NodeJS.ProcessEnv;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}): ServiceProcess {
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, BATCHLINE_BIN, 'run', options.name], {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    let carry = '';
    child[stream]?.setEncoding('utf8');
    child[stream]?.on('data', (data: string) => {
      const lines = (carry + data).split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) options.onLine?.(line, stream);
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return {
    name: options.name,
    child,
    pid: child.pid ?? -1,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}
