import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { ApiError, badRequest, notFound } from './api-error.ts';
import { randomId } from './ids.ts';
import { InputFileCheck, type InputFileSummary } from './input-file-check.ts';
import type { FileObject, FilePurpose } from './types.ts';

/** OpenAI's limits: any file up to 512 MB, a batch input up to 200 MB. */
const MAX_FILE_BYTES = 512 * 1024 * 1024;
const MAX_BATCH_INPUT_BYTES = 200 * 1024 * 1024;
/** Batch input and output files expire after 30 days by default. */
const BATCH_FILE_TTL_MS = 30 * 24 * 3600 * 1000;
const UPLOAD_PURPOSES: ReadonlySet<string> = new Set([
  'assistants',
  'batch',
  'fine-tune',
  'vision',
  'user_data',
  'evals',
]);

export interface StoredFile {
  id: string;
  filename: string;
  purpose: FilePurpose;
  bytes: number;
  createdAtMs: number;
  expiresAtMs: number | null;
  path: string;
  /** For `batch` uploads: the result of checking every line. */
  input: InputFileSummary | null;
}

/** Writes a generated file line by line, honouring the disk stream's backpressure. */
export interface LineSink {
  write(line: string): Promise<void>;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

const CONTENT_READ_BYTES = 1024 * 1024;

/** Files on disk with their metadata in memory. Contents are streamed in and out, never held whole. */
export class FileStore {
  private readonly files = new Map<string, StoredFile>();

  constructor(
    private readonly dir: string,
    private readonly now: () => number,
    /** Whether batch inputs' prompt tokens are counted (an enqueued-token limit is enforced). */
    private readonly countsPromptTokens = false,
  ) {}

  get(id: string): StoredFile {
    const file = this.files.get(id);
    if (!file) throw notFound('File', id, 'file_id');
    return file;
  }

  find(id: string): StoredFile | undefined {
    return this.files.get(id);
  }

  /** Newest first by default, like OpenAI; `after` is the id of the last file of the previous page. */
  list(options: { purpose?: string; order: 'asc' | 'desc'; after?: string; limit: number }): {
    page: StoredFile[];
    hasMore: boolean;
  } {
    let all = [...this.files.values()].filter((f) => !options.purpose || f.purpose === options.purpose);
    if (options.order === 'desc') all = all.reverse();
    const start = options.after ? all.findIndex((f) => f.id === options.after) + 1 : 0;
    // An unknown cursor ends the listing rather than restarting it (a client would loop for ever).
    if (options.after && start === 0) return { page: [], hasMore: false };
    const page = all.slice(start, start + options.limit);
    return { page, hasMore: start + options.limit < all.length };
  }

  /** Receives a multipart upload (`file`, `purpose`), streaming the file to disk and checking batch inputs. */
  async upload(req: IncomingMessage): Promise<StoredFile> {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: MAX_FILE_BYTES, fields: 20 } });
    } catch {
      throw badRequest('The request must be multipart/form-data with a file and a purpose.');
    }
    const id = randomId('file-');
    const path = join(this.dir, id);
    const fields = new Map<string, string>();
    // Assigned in the busboy callback; the assertion keeps TypeScript from narrowing it to null.
    let received = null as Promise<ReceivedFile> | null;

    parser.on('field', (name, value) => fields.set(name, value));
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || received) {
        stream.resume();
        return;
      }
      received = receiveFile(stream, path, info.filename ?? 'file', this.countsPromptTokens);
      // Awaited after the multipart body ends; until then a failure must not count as unhandled.
      received.catch(() => {});
    });
    try {
      await pipeline(req, parser);
      if (!received) throw badRequest("Missing required parameter: 'file'.", 'file');
      const file = await received;
      const purpose = fields.get('purpose');
      if (!purpose) throw badRequest("Missing required parameter: 'purpose'.", 'purpose');
      if (!UPLOAD_PURPOSES.has(purpose))
        throw badRequest(`Invalid value for 'purpose': ${purpose}.`, 'purpose');
      if (file.truncated) throw badRequest('The file is larger than 512 MB.', 'file');
      if (purpose === 'batch') {
        if (!file.filename.endsWith('.jsonl')) {
          throw badRequest(
            'Invalid file format for Batch API. Must be .jsonl',
            'file',
            'invalid_file_format',
          );
        }
        if (file.bytes > MAX_BATCH_INPUT_BYTES)
          throw badRequest('Batch input files are limited to 200 MB.', 'file');
      }
      const createdAtMs = this.now();
      const stored: StoredFile = {
        id,
        filename: file.filename,
        purpose: purpose as FilePurpose,
        bytes: file.bytes,
        createdAtMs,
        expiresAtMs: purpose === 'batch' ? createdAtMs + BATCH_FILE_TTL_MS : null,
        path,
        input: purpose === 'batch' ? file.input : null,
      };
      this.files.set(id, stored);
      return stored;
    } catch (err) {
      await unlink(path).catch(() => {});
      if (err instanceof ApiError) throw err;
      throw badRequest('The multipart body could not be read.');
    }
  }

  /** Creates a file from generated lines (a batch's output or error file). */
  async writeLines(
    filename: string,
    purpose: FilePurpose,
    produce: (sink: LineSink) => Promise<void>,
  ): Promise<StoredFile> {
    const id = randomId('file-');
    const path = join(this.dir, id);
    const out = createWriteStream(path);
    let bytes = 0;
    const sink: LineSink = {
      write: async (line) => {
        const data = `${line}\n`;
        bytes += Buffer.byteLength(data);
        if (!out.write(data)) await new Promise<void>((resolve) => out.once('drain', resolve));
      },
    };
    try {
      await produce(sink);
      out.end();
      await finished(out);
    } catch (err) {
      out.destroy();
      await unlink(path).catch(() => {});
      throw err;
    }
    const createdAtMs = this.now();
    const stored: StoredFile = {
      id,
      filename,
      purpose,
      bytes,
      createdAtMs,
      expiresAtMs: createdAtMs + BATCH_FILE_TTL_MS,
      path,
      input: null,
    };
    this.files.set(id, stored);
    return stored;
  }

  openContent(id: string): { file: StoredFile; stream: ReadStream } {
    const file = this.get(id);
    // Large reads: a result file is hundreds of MB, and each read costs the emulator as much as its bytes.
    return { file, stream: createReadStream(file.path, { highWaterMark: CONTENT_READ_BYTES }) };
  }

  async delete(id: string): Promise<void> {
    const file = this.get(id);
    this.files.delete(id);
    await unlink(file.path).catch(() => {});
  }

  toObject(file: StoredFile): FileObject {
    return {
      id: file.id,
      object: 'file',
      bytes: file.bytes,
      created_at: seconds(file.createdAtMs),
      expires_at: file.expiresAtMs === null ? null : seconds(file.expiresAtMs),
      filename: file.filename,
      purpose: file.purpose,
      status: 'processed',
      status_details: null,
    };
  }
}

interface ReceivedFile {
  filename: string;
  bytes: number;
  truncated: boolean;
  input: InputFileSummary;
}

/** Streams one uploaded file to disk while checking it line by line as a batch input. */
async function receiveFile(
  stream: NodeJS.ReadableStream & { truncated?: boolean },
  path: string,
  filename: string,
  countsPromptTokens: boolean,
): Promise<ReceivedFile> {
  const check = new InputFileCheck(countsPromptTokens);
  let bytes = 0;
  const inspect = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      check.push(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(stream, inspect, createWriteStream(path));
  return { filename, bytes, truncated: stream.truncated === true, input: check.end() };
}
