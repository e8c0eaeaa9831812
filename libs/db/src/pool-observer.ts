import type pg from 'pg';
import { pgErrorCode } from './errors.ts';

/** Told what each statement and each connection attempt of a pool says of the database's health. */
export interface DatabaseHealthObserver {
  /** A connection attempt or a statement failed because of the database (see `isDatabaseTrouble`). */
  failed(error: unknown): void;
  /** A statement got its answer. */
  succeeded(): void;
}

/**
 * SQLSTATE classes and codes that say the database (not the statement) is in trouble: connection exceptions
 * (08), insufficient resources (53), operator intervention such as a terminated backend or a statement
 * cancelled by its timeout (57), system errors (58, XX), the database gone (3D000), a transaction rolled back by
 * the server (40: serialization failure, deadlock), a lock not available (55P03), a read-only server (25006).
 */
const TROUBLE_CLASSES = ['08', '53', '57', '58', 'XX', '40'];
const TROUBLE_CODES = ['3D000', '55P03', '25006'];
const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * Whether an error means the database is in trouble rather than the statement being wrong: a refused, lost or
 * timed-out connection (no SQLSTATE), or a SQLSTATE above. A constraint violation or a syntax error is an
 * answer, and says nothing of the database's health.
 */
export function isDatabaseTrouble(error: unknown): boolean {
  const code = pgErrorCode(error);
  // Without a SQLSTATE (ECONNREFUSED, "Connection terminated", a connect timeout) the connection itself failed.
  if (code === undefined || !SQLSTATE.test(code)) return error instanceof Error;
  return TROUBLE_CLASSES.includes(code.slice(0, 2)) || TROUBLE_CODES.includes(code);
}

type Callback = (error: Error | undefined, ...rest: unknown[]) => void;

/**
 * Reports every connection attempt and statement of `pool` to `observer`, whoever runs them (the service's
 * handlers, its transactions, its outbox relay), so that database trouble is seen in one place for a whole
 * process. Connection attempts failing count as trouble whatever the error (the database refused them);
 * statements count as trouble per `isDatabaseTrouble` and as healthy when answered. Streams (COPY) go unobserved.
 * The observer is never awaited and must not throw.
 */
export function observePool(pool: pg.Pool, observer: DatabaseHealthObserver): void {
  const connect = pool.connect.bind(pool) as (callback?: Callback) => unknown;
  // pool.query checks out its client through this.connect, so the override covers it too.
  (pool as { connect: unknown }).connect = (callback?: Callback) => {
    if (callback) {
      return connect((error, ...rest) => {
        if (error) observer.failed(error);
        callback(error, ...rest);
      });
    }
    return (connect() as Promise<unknown>).catch((error: unknown) => {
      observer.failed(error);
      throw error;
    });
  };
  const settle = (error: unknown) => {
    if (!error) observer.succeeded();
    else if (isDatabaseTrouble(error)) observer.failed(error);
  };
  // Every new connection's statements: those of transactions and of pool.query alike.
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const last = args.at(-1);
      if (typeof last === 'function') {
        const callback = last as Callback;
        return query(...args.slice(0, -1), (error: Error | undefined, ...rest: unknown[]) => {
          settle(error);
          callback(error, ...rest);
        });
      }
      const result = query(...args);
      if (result instanceof Promise) result.then(() => settle(undefined), settle);
      return result;
    };
  });
}
