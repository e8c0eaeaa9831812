const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const FIRST_KEY = Buffer.from('{"custom_id":"');
const KEY = Buffer.from('"custom_id"');

/**
 * Collects the `custom_id`s of a request (input) file from its bytes. Request lines are large — each carries the
 * whole prompt — and nearly always start with their `custom_id`, so the id is read straight from the bytes when
 * the line starts with `{"custom_id":"`, the id holds no escape and no other `"custom_id"` key follows in the line
 * (JSON.parse would take the last of duplicate keys): for a valid line that is what JSON.parse gives. Any other
 * line is decoded and parsed. The provider validated this file; a line that cannot be read has no result to
 * match anyway, and so has a line longer than `maxLineBytes`, which is skipped instead of buffered.
 */
export class RequestIdCollector {
  readonly ids = new Set<string>();
  private carry: Buffer[] = [];
  private carryBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      if (this.carryBytes > 0) {
        this.carryBytes += nl - start;
        this.carry.push(chunk.subarray(start, nl));
        this.takeCarried();
      } else if (nl - start <= this.maxLineBytes) {
        this.take(chunk, start, nl);
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.carryBytes += chunk.length - start;
      // Copied: the stream may reuse the chunk's memory. An overlong line is dropped, not held.
      if (this.carryBytes <= this.maxLineBytes) this.carry.push(Buffer.from(chunk.subarray(start)));
      else this.carry = [];
    }
  }

  /**
   * Forgets the partial line a broken stream left behind, before the file is read again from its start: carried
   * over, it would be glued to the new stream's first line and lose that line's id.
   */
  restart(): void {
    this.carry = [];
    this.carryBytes = 0;
  }

  /** Takes a last line without a trailing newline. */
  end(): void {
    if (this.carryBytes > 0) this.takeCarried();
  }

  private takeCarried(): void {
    if (this.carryBytes <= this.maxLineBytes) {
      const line = Buffer.concat(this.carry);
      this.take(line, 0, line.length);
    }
    this.carry = [];
    this.carryBytes = 0;
  }

  private take(bytes: Buffer, start: number, end: number): void {
    const id = customIdAt(bytes, start, end);
    if (id !== null && id.length > 0) this.ids.add(id);
  }
}

function customIdAt(bytes: Buffer, start: number, end: number): string | null {
  const idStart = start + FIRST_KEY.length;
  if (end > idStart && bytes.compare(FIRST_KEY, 0, FIRST_KEY.length, start, idStart) === 0) {
    const idEnd = bytes.indexOf(QUOTE, idStart);
    if (idEnd !== -1 && idEnd < end) {
      const escaped = bytes.subarray(idStart, idEnd).includes(BACKSLASH);
      const another = bytes.indexOf(KEY, idEnd);
      if (!escaped && (another === -1 || another >= end)) return bytes.toString('utf8', idStart, idEnd);
    }
  }
  const text = bytes.toString('utf8', start, end).replace(/^\uFEFF/, '');
  if (text.trim() === '') return null;
  try {
    const customId = (JSON.parse(text) as { custom_id?: unknown } | null)?.custom_id;
    return typeof customId === 'string' ? customId : null;
  } catch {
    return null;
  }
}
