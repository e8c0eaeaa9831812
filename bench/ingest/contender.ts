import type { IncomingMessage } from 'node:http';
import { get } from 'node:http';
import pg from 'pg';
import { type ProcessUsage, peakRssBytes, processUsage, usageSince } from './proc-stats.ts';

/**
 * What the bench passes to a reference process (as JSON in argv[2]) and what the process prints back (one JSON
 * line on stdout). The references run as their own processes, so their memory is measured like a service's.
 */
export interface ContenderInput {
  databaseUrl: string;
  /** The output file's content URL at the emulator, and the key to fetch it. */
  fileUrl: string;
  apiKey: string;
  batchLogId: number;
}

export interface ContenderReport {
  /** From the start of the download to the commit. */
  seconds: number;
  lines: number;
  results: number;
  associations: number;
  peakRssBytes: number;
  /** CPU (and waiting for a CPU) of this process and of its Postgres backend over the same span. */
  usage: ProcessUsage;
  databaseUsage: ProcessUsage;
}

export function contenderInput(): ContenderInput {
  return JSON.parse(process.argv[2] ?? '{}') as ContenderInput;
}

export async function openDownload(input: ContenderInput): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(input.fileUrl, { headers: { authorization: `Bearer ${input.apiKey}` } }, (response) => {
      if (response.statusCode === 200) resolve(response);
      else reject(new Error(`download answered ${response.statusCode}`));
    }).on('error', reject);
  });
}

export async function connect(input: ContenderInput): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: input.databaseUrl });
  await client.connect();
  return client;
}

export async function loadCatalogue(client: pg.Client): Promise<Set<string>> {
  const { rows } = await client.query<{ id: string }>('SELECT id::text AS id FROM wl_spec_vps');
  return new Set(rows.map((row) => row.id));
}

/** Starts the clocks: wall time, this process's CPU time and that of the client's Postgres backend. */
export async function startClocks(client: pg.Client) {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const backend = rows[0]!.pid;
  const started = { wall: performance.now(), usage: processUsage(), databaseUsage: processUsage(backend) };
  return {
    report(counts: Pick<ContenderReport, 'lines' | 'results' | 'associations'>): void {
      const report: ContenderReport = {
        seconds: (performance.now() - started.wall) / 1000,
        ...counts,
        peakRssBytes: peakRssBytes(),
        usage: usageSince(started.usage, processUsage()),
        databaseUsage: usageSince(started.databaseUsage, processUsage(backend)),
      };
      process.stdout.write(`${JSON.stringify(report)}\n`);
    },
  };
}
