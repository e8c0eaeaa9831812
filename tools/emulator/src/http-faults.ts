import type { ServerResponse } from 'node:http';
import type { HttpFault, InjectedFault } from './types.ts';

interface ActiveFault {
  fault: HttpFault;
  remaining: number;
  hits: number;
}

/** The faults tests inject, matched in injection order; each applies to its next `times` matching requests. */
export class HttpFaults {
  private faults: ActiveFault[] = [];

  inject(fault: HttpFault): InjectedFault {
    const active: ActiveFault = { fault, remaining: fault.times ?? 1, hits: 0 };
    this.faults.push(active);
    return {
      get hits() {
        return active.hits;
      },
      remove: () => {
        this.faults = this.faults.filter((f) => f !== active);
      },
    };
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault for this request, if any, counting it as applied. */
  take(method: string, path: string): HttpFault | null {
    for (const active of this.faults) {
      const { fault } = active;
      if (active.remaining <= 0) continue;
      if (fault.method && fault.method.toUpperCase() !== method) continue;
      fault.path.lastIndex = 0;
      if (!fault.path.test(path)) continue;
      active.remaining -= 1;
      active.hits += 1;
      return fault;
    }
    return null;
  }
}

/**
 * Waits `ms` before answering, or until the client goes away. `Infinity` waits for the client (or the emulator's
 * close, which destroys every connection). Resolves to false when there is nobody left to answer.
 */
export function delayResponse(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (res.destroyed) {
      resolve(false);
      return;
    }
    const timer = Number.isFinite(ms) ? setTimeout(() => finish(true), ms) : null;
    const onClose = () => finish(false);
    function finish(answer: boolean) {
      if (timer) clearTimeout(timer);
      res.off('close', onClose);
      resolve(answer);
    }
    res.once('close', onClose);
  });
}

/**
 * Lets only the first `limit` body bytes of a response through, then either destroys the connection (a download
 * that closes midway: the client sees fewer bytes than Content-Length) or stalls: later writes are dropped and
 * the response never ends.
 */
export function limitResponseBody(res: ServerResponse, limit: number, mode: 'truncate' | 'stall'): void {
  const write = res.write.bind(res) as (chunk: Buffer, callback?: () => void) => boolean;
  const end = res.end.bind(res) as () => ServerResponse;
  let sent = 0;
  let cut = false;

  const limitedWrite = (chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean => {
    const done = [encodingOrCallback, callback].find((arg): arg is () => void => typeof arg === 'function');
    const encoding = typeof encodingOrCallback === 'string' ? (encodingOrCallback as BufferEncoding) : 'utf8';
    if (cut) {
      if (done) process.nextTick(done);
      return true;
    }
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk as Uint8Array);
    if (sent + bytes.length <= limit) {
      sent += bytes.length;
      return write(bytes, done);
    }
    const part = bytes.subarray(0, limit - sent);
    sent = limit;
    cut = true;
    write(part, () => {
      if (mode === 'truncate') res.destroy();
    });
    if (done) process.nextTick(done);
    return true;
  };

  res.write = limitedWrite as ServerResponse['write'];
  res.end = ((chunk?: unknown, encodingOrCallback?: unknown, callback?: unknown) => {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
      limitedWrite(chunk, encodingOrCallback, callback);
    }
    // A cut response never ends: it was destroyed, or it stalls until the client gives up.
    return cut ? res : end();
  }) as ServerResponse['end'];
}
