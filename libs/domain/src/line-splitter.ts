const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines without decoding whole chunks to strings first: only complete lines are
 * decoded, and a partial line is carried over as bytes (so a multi-byte character split across chunks is safe).
 * Lines longer than `maxLineBytes` are reported as too long, with their length, instead of being buffered.
 */
export class LineSplitter {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private overflow = false;
  private lineNo = 0;

  constructor(private readonly maxLineBytes = 64 * 1024 * 1024) {}

  /** Feeds bytes; calls `onLine` for each complete line (without its `\n`). */
  push(chunk: Buffer, onLine: (line: SplitLine) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      this.emit(chunk.subarray(start, nl), onLine);
      start = nl + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
  }

  /** Flushes a final line that has no trailing newline. */
  end(onLine: (line: SplitLine) => void): void {
    if (this.carryBytes > 0 || this.overflow) this.emit(Buffer.alloc(0), onLine);
  }

  private hold(part: Buffer): void {
    if (this.overflow) {
      this.carryBytes += part.length;
      return;
    }
    this.carryBytes += part.length;
    if (this.carryBytes > this.maxLineBytes) {
      this.overflow = true;
      this.carry = [];
      return;
    }
    // Copy: the caller may reuse the chunk's memory.
    this.carry.push(Buffer.from(part));
  }

  private emit(tail: Buffer, onLine: (line: SplitLine) => void): void {
    this.lineNo += 1;
    if (this.overflow) {
      onLine({ line: this.lineNo, text: null, bytes: this.carryBytes + tail.length });
    } else {
      const bytes = this.carry.length === 0 ? tail : Buffer.concat([...this.carry, tail]);
      onLine({ line: this.lineNo, text: bytes.toString('utf8'), bytes: bytes.length });
    }
    this.carry = [];
    this.carryBytes = 0;
    this.overflow = false;
  }
}

export interface SplitLine {
  /** 1-based line number. */
  line: number;
  /** The decoded line, or null when it exceeded the splitter's limit. */
  text: string | null;
  bytes: number;
}
