import { redactSecretsIn } from '@batchline/logging';

/** A server the caller can use: either one that already answered, or one this process started. */
export interface LocalServer {
  url: string;
  /** True when this process started the server (and `stop()` shuts it down). */
  started: boolean;
  /** The temporary directory holding a started server's data; absent for servers found running. */
  dataDir?: string;
  /** Stops a server this process started and removes its directory; a no-op for servers found running. */
  stop(): Promise<void>;
  /**
   * Only on a server this process started (fault-injection tests): stops the server process but keeps its data
   * directory and port. `graceful` is a clean shutdown (nats-server SIGTERM, `pg_ctl stop -m fast`); `crash`
   * gives no chance to clean up (SIGKILL, `pg_ctl stop -m immediate`, which forces crash recovery on start).
   */
  halt?(mode: HaltMode): Promise<void>;
  /** Starts a halted server again on the same data directory and port; resolves once it answers. */
  resume?(): Promise<void>;
}

/** How `halt` stops a started server. */
export type HaltMode = 'graceful' | 'crash';

/** A started server that can be halted and resumed (what the private servers of this package are). */
export type RestartableServer = LocalServer & Required<Pick<LocalServer, 'halt' | 'resume'>>;

export const isRestartable = (server: LocalServer): server is RestartableServer =>
  typeof server.halt === 'function' && typeof server.resume === 'function';

export type LocalServerErrorCode = 'POSTGRES_UNAVAILABLE' | 'NATS_UNAVAILABLE';

/** No usable server was found and none could be started; `attempts` says what was tried and why it failed. */
export class LocalServerUnavailableError extends Error {
  override readonly name = 'LocalServerUnavailableError';

  constructor(
    readonly code: LocalServerErrorCode,
    readonly attempts: readonly string[],
    summary: string,
    howToFix: string,
  ) {
    super(`${summary}. Tried:\n${attempts.map((attempt) => `  - ${attempt}`).join('\n')}\n${howToFix}`);
  }
}

/** The outcome of asking a server whether it is usable. */
export type ProbeResult = { ok: true } | { ok: false; reason: string };

/** A server found running: nothing to stop. */
export function existingServer(url: string): LocalServer {
  return { url, started: false, stop: async () => {} };
}

/** A URL safe to print: password (and a NATS token, which sits in the user slot) masked. */
export function urlForLog(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'REDACTED';
    else if (parsed.username && parsed.protocol === 'nats:') parsed.username = 'REDACTED';
    return parsed.toString();
  } catch {
    return redactSecretsIn(url);
  }
}

/** The message of anything thrown, with secrets masked, for logs and attempt lists. */
export function failureReason(err: unknown): string {
  return redactSecretsIn(messageOf(err).trim());
}

function messageOf(err: unknown): string {
  // Node reports a refused connection to a host with several addresses as an AggregateError with no message.
  if (err instanceof AggregateError && !err.message) return err.errors.map(messageOf).join('; ');
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** Runs `stop` once, however many times (and however concurrently) the returned function is called. */
export function stopOnce(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= stop();
    return stopping;
  };
}
