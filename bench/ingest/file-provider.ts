/**
 * A minimal OpenAI Batches + Files server for the bench: every batch it is asked about is `completed`, its output
 * the shared generator's file (or one of several: `--concurrent` gives each batch its own request ids), its input a
 * request file naming the same `custom_id`s (what `track` reads). Files are streamed from disk in 1 MiB reads, like
 * the emulator's.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';

/** One batch's files: its output (the results) and its input (the requests, read on the `track` path). */
export interface FileSet {
  outputPath: string;
  inputPath: string;
  lines: number;
}

export interface FileProvider {
  baseUrl: string;
  /** The input file id of each file set, in order. */
  inputFileIds: string[];
  close(): Promise<void>;
}

const READ_BYTES = 1024 * 1024;
const outputFileId = (set: number) => `file-bench-output-${set}`;
const inputFileId = (set: number) => `file-bench-input-${set}`;

/** The provider batch id of a batch whose files are file set `set`: any `name`, the set as its suffix. */
export const fileSetBatchId = (name: string, set: number): string => `${name}-set${set}`;
const fileSetOf = (batchId: string): number => Number(/-set(\d+)$/.exec(batchId)?.[1] ?? 0);

/** Writes the request file whose results `outputPath` holds: one small chat request per `custom_id`, in order. */
export async function writeInputFileFor(outputPath: string, inputPath: string): Promise<void> {
  const out = createWriteStream(inputPath);
  const customId = /"custom_id":"([^"]*)"/;
  for await (const line of createInterface({ input: createReadStream(outputPath), crlfDelay: Infinity })) {
    const id = customId.exec(line)?.[1];
    if (id === undefined) continue;
    const request = {
      custom_id: id,
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `Which viewpoints does sentence ${id} talk about?` }],
      },
    };
    if (!out.write(`${JSON.stringify(request)}\n`)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
}

/**
 * Writes a copy of the generator's output file whose request ids (`rs-<id>`) are `offset` higher: the same answers
 * for other requests, so that several batches can land side by side without their rows' keys colliding.
 */
export async function writeRenumberedCopy(
  outputPath: string,
  copyPath: string,
  offset: number,
): Promise<void> {
  const out = createWriteStream(copyPath);
  const customId = /"custom_id":"rs-(\d+)"/;
  for await (const line of createInterface({ input: createReadStream(outputPath), crlfDelay: Infinity })) {
    const renumbered = line.replace(customId, (_, id: string) => `"custom_id":"rs-${Number(id) + offset}"`);
    if (!out.write(`${renumbered}\n`)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
}

export async function startFileProvider(apiKey: string, sets: readonly FileSet[]): Promise<FileProvider> {
  const paths: Record<string, string> = Object.fromEntries(
    sets.flatMap((files, set) => [
      [outputFileId(set), files.outputPath],
      [inputFileId(set), files.inputPath],
    ]),
  );
  const now = Math.floor(Date.now() / 1000);
  const send = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${apiKey}`)
      return send(res, 401, { error: { message: 'bad key' } });
    const url = new URL(req.url ?? '/', 'http://bench');
    const batch = /^\/v1\/batches\/([^/]+)$/.exec(url.pathname);
    const set = batch ? fileSetOf(batch[1]!) : 0;
    const files = batch && sets[set];
    if (req.method === 'GET' && files) {
      return send(res, 200, {
        id: batch![1],
        object: 'batch',
        endpoint: '/v1/chat/completions',
        errors: null,
        input_file_id: inputFileId(set),
        completion_window: '24h',
        status: 'completed',
        output_file_id: outputFileId(set),
        error_file_id: null,
        created_at: now,
        in_progress_at: now,
        expires_at: now + 86_400,
        finalizing_at: now,
        completed_at: now,
        failed_at: null,
        expired_at: null,
        cancelling_at: null,
        cancelled_at: null,
        request_counts: { total: files.lines, completed: files.lines, failed: 0 },
        metadata: null,
      });
    }
    const file = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(url.pathname);
    const path = file && paths[file[1]!];
    if (req.method !== 'GET' || !file || !path) return send(res, 404, { error: { message: 'not found' } });
    stat(path).then(
      ({ size }) => {
        if (!file[2]) {
          return send(res, 200, {
            id: file[1],
            object: 'file',
            bytes: size,
            created_at: now,
            filename: `${file[1]}.jsonl`,
            purpose: file[1]!.startsWith('file-bench-output') ? 'batch_output' : 'batch',
          });
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
        createReadStream(path, { highWaterMark: READ_BYTES }).pipe(res);
      },
      (error: Error) => send(res, 500, { error: { message: error.message } }),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    inputFileIds: sets.map((_, set) => inputFileId(set)),
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
