import type { Logger } from '@batchline/logging';
import pg from 'pg';

export interface PoolOptions {
  connectionString: string;
  log: Logger;
  /** Shows up in `pg_stat_activity`, so an operator can tell the services apart. */
  applicationName: string;
  max?: number;
  /** Longest a single statement may run. */
  statementTimeoutMs?: number;
  /** Longest a transaction may sit idle (e.g. a process paused mid-transaction) before the server ends it. */
  idleInTransactionTimeoutMs?: number;
  /** Longest to wait for a new connection, so an unreachable server fails fast instead of hanging. */
  connectionTimeoutMs?: number;
}

/** The connection pool every service and command shares. */
export type Pool = pg.Pool;

/** Something that runs one statement: a pool (any free connection) or one client (inside its transaction). */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

/** Where a transaction runs: a pool (a connection is checked out for it) or a client that is not in one. */
export type TransactionSource = pg.Pool | pg.ClientBase;

export function createPool({
  connectionString,
  log,
  applicationName,
  max = 10,
  statementTimeoutMs = 30_000,
  idleInTransactionTimeoutMs = 60_000,
  connectionTimeoutMs = 10_000,
}: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: applicationName,
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: idleInTransactionTimeoutMs,
    connectionTimeoutMillis: connectionTimeoutMs,
    keepAlive: true,
    // No JIT: batchline's statements are short, but a prepared statement's generic plan can be costed in the
    // millions (a correlated sum per pending batch), and compiling it took 2.7 s per execution of a 0.2 ms
    // statement at issue 18's scale (the monitor's previous-period figures). No parallel workers either: starting
    // them cost the monitoring view's live figures ~60 ms to read 10,000 index entries (5 ms) on two cores.
    options: '-c jit=off -c max_parallel_workers_per_gather=0',
  });
  // An idle client whose backend went away (server restart, pg_terminate_backend) reports here; without a
  // listener Node treats it as an uncaught error and the process dies. The pool discards that client and
  // connects anew when next asked.
  pool.on('error', (err) => log.warn({ err }, 'idle database connection lost'));
  return pool;
}

// Structural, so that a pool made by another copy of `pg` is never mistaken for a single client (its BEGIN and
// COMMIT would then run on different connections).
const isPool = (db: TransactionSource): db is pg.Pool => 'totalCount' in db;

/**
 * Runs `fn` inside BEGIN/COMMIT, rolling back when it throws. A connection checked out from a pool is always
 * released, and destroyed rather than reused when even the rollback failed (its state is unknown).
 */
export async function withTransaction<T>(
  db: TransactionSource,
  fn: (client: pg.ClientBase) => Promise<T>,
): Promise<T> {
  const pooled = isPool(db) ? await db.connect() : null;
  const client = pooled ?? (db as pg.ClientBase);
  let unusable: Error | undefined;
  // pg-pool takes its error listener off a checked-out client, so a backend that goes away mid-transaction
  // (server restart, pg_terminate_backend) would be an unhandled 'error' event that ends the process. The
  // statement in flight (or the next one) fails anyway; the client is then destroyed on release.
  const onConnectionError = (err: Error) => {
    unusable ??= err;
  };
  pooled?.on('error', onConnectionError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      unusable = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    throw err;
  } finally {
    pooled?.off('error', onConnectionError);
    pooled?.release(unusable);
  }
}
