import { Readable } from 'node:stream';

export interface DownloadGuard {
  /** Longest wait for the next byte while the consumer is asking for more. */
  stallTimeoutMs: number;
  /** Called once the download is over early (stall, consumer gone): cancels the underlying request. */
  abort: () => void;
  stallError: () => Error;
  /** Maps a transport error of the body (connection cut, ...) to the caller's error type. */
  toError: (err: unknown) => Error;
}

/**
 * Wraps a response body so that it fails when no byte arrives for `stallTimeoutMs` while the consumer waits —
 * a slow consumer pauses the body and the clock alike — and maps transport errors. Backpressure is kept: the
 * body is read from the network only as fast as it is consumed.
 */
export function guardDownload(body: Readable, guard: DownloadGuard): Readable {
  let timer: NodeJS.Timeout | undefined;
  const disarm = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const arm = () => {
    disarm();
    timer = setTimeout(() => out.destroy(guard.stallError()), guard.stallTimeoutMs);
  };

  const out = new Readable({
    read() {
      arm();
      body.resume();
    },
    destroy(err, callback) {
      disarm();
      if (!body.readableEnded) {
        body.destroy();
        guard.abort();
      }
      callback(err);
    },
  });

  body.on('data', (chunk: Buffer) => {
    if (out.push(chunk)) arm();
    else {
      // The consumer is behind: stop reading (and timing) until it asks again.
      body.pause();
      disarm();
    }
  });
  body.pause();
  body.once('end', () => {
    disarm();
    out.push(null);
  });
  body.on('error', (err) => out.destroy(guard.toError(err)));
  return out;
}
