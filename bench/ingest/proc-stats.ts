import { readdirSync, readFileSync } from 'node:fs';
import type { Pool } from '@batchline/db';

/** A `/proc/<pid>/status` size field (`VmHWM`, `VmRSS`, ...) of a live process, in bytes. */
function statusBytes(pid: number | 'self', field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** The peak resident set size of a live process since it started. */
export const peakRssBytes = (pid: number | 'self' = 'self'): number => statusBytes(pid, 'VmHWM');

/** The resident set size of a live process now. */
export const residentBytes = (pid: number | 'self' = 'self'): number => statusBytes(pid, 'VmRSS');

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system) a live process has used so far, in seconds, from `/proc/<pid>/stat`. */
export function cpuSeconds(pid: number | 'self' = 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Seconds the threads of a live process have spent runnable but waiting for a CPU, from
 * `/proc/<pid>/task/<tid>/schedstat` (second field, nanoseconds): how much the machine's other load held it back.
 */
export function runQueueWaitSeconds(pid: number | 'self' = 'self'): number {
  let waitedNs = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      waitedNs += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      // The thread ended in between.
    }
  }
  return waitedNs / 1e9;
}

/** CPU used, and time spent waiting for a CPU, by one process or a group of them. */
export interface ProcessUsage {
  cpuSeconds: number;
  waitedSeconds: number;
}

export const processUsage = (pid: number | 'self' = 'self'): ProcessUsage => ({
  cpuSeconds: cpuSeconds(pid),
  waitedSeconds: runQueueWaitSeconds(pid),
});

export const addUsage = (a: ProcessUsage, b: ProcessUsage): ProcessUsage => ({
  cpuSeconds: a.cpuSeconds + b.cpuSeconds,
  waitedSeconds: a.waitedSeconds + b.waitedSeconds,
});

export const usageSince = (before: ProcessUsage, after: ProcessUsage): ProcessUsage => ({
  cpuSeconds: after.cpuSeconds - before.cpuSeconds,
  waitedSeconds: after.waitedSeconds - before.waitedSeconds,
});

export const NO_USAGE: ProcessUsage = { cpuSeconds: 0, waitedSeconds: 0 };

/** Every nats-server process on the machine (shared with other users of the server: an upper bound). */
export function natsServerUsage(): ProcessUsage {
  let total = NO_USAGE;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'nats-server')
        total = addUsage(total, processUsage(Number(entry)));
    } catch {
      // Ended in between.
    }
  }
  return total;
}

/** CPU used so far by the Postgres backends connected to one database (the pools stay open across a batch). */
export async function databaseUsage(pool: Pool, database: string): Promise<ProcessUsage> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
    database,
  ]);
  let total = NO_USAGE;
  for (const { pid } of rows) {
    try {
      total = addUsage(total, processUsage(pid));
    } catch {
      // The backend ended in between.
    }
  }
  return total;
}
