/**
 * A minimal OpenAI Batches + Files server for the bench: every batch it is asked about is `completed`, its output
 * the shared generator's file, its input a request file naming the same `custom_id`s (what `track` reads). Files
 * are streamed from disk in 1 MiB reads, like the emulator's.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';

export interface FileProvider {
  baseUrl: string;
  outputFileId: string;
  inputFileId: string;
  close(): Promise<void>;
}

const OUTPUT_FILE_ID = 'file-bench-output';
const INPUT_FILE_ID = 'file-bench-input';
const READ_BYTES = 1024 * 1024;

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

export async function startFileProvider(
  apiKey: string,
  files: { outputPath: string; inputPath: string; lines: number },
): Promise<FileProvider> {
  const paths: Record<string, string> = {
    [OUTPUT_FILE_ID]: files.outputPath,
    [INPUT_FILE_ID]: files.inputPath,
  };
  const now = Math.floor(Date.now() / 1000);
  const send = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${apiKey}`)
      return send(res, 401, { error: { message: 'bad key' } });
    const url = new URL(req.url ?? '/', 'http://bench');
    const batch = /^\/v1\/batches\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && batch) {
      return send(res, 200, {
        id: batch[1],
        object: 'batch',
        endpoint: '/v1/chat/completions',
        errors: null,
        input_file_id: INPUT_FILE_ID,
        completion_window: '24h',
        status: 'completed',
        output_file_id: OUTPUT_FILE_ID,
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
            purpose: file[1] === OUTPUT_FILE_ID ? 'batch_output' : 'batch',
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
    outputFileId: OUTPUT_FILE_ID,
    inputFileId: INPUT_FILE_ID,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
