import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { builtInJobTypes } from '@batchline/job-types';
import { checkAnswerShares } from './answer-shares.ts';
import { AnthropicApiError, ApiError, badRequest } from './api-error.ts';
import { BatchService, type EmulatedBatch } from './batch-service.ts';
import { createEmbeddings } from './embeddings.ts';
import { FileStore } from './file-store.ts';
import { delayResponse, HttpFaults, limitResponseBody } from './http-faults.ts';
import { randomId } from './ids.ts';
import { readJson, sendJson } from './json-io.ts';
import { type EmulatedMessageBatch, MessageBatchService } from './message-batches.ts';
import { countingAttempts } from './transient-failures.ts';
import type {
  EmulatorClock,
  EmulatorOptions,
  ExpectedBatchOutcomes,
  HttpFault,
  InjectedFault,
  RequestLogEntry,
} from './types.ts';

export interface Emulator {
  /** E.g. `http://127.0.0.1:PORT/v1`: what `OPENAI_BASE_URL` / the SDK's `baseURL` take. */
  baseUrl: string;
  /** E.g. `http://127.0.0.1:PORT`: what `ANTHROPIC_BASE_URL` / the Anthropic SDK's `baseURL` take. */
  anthropicBaseUrl: string;
  port: number;
  close(): Promise<void>;
  /** Serves `fault` to the next matching requests (see `HttpFault`). */
  injectHttpFault(fault: HttpFault): InjectedFault;
  clearHttpFaults(): void;
  /** Every request answered so far, in order. */
  readonly requests: readonly RequestLogEntry[];
  /** The internal state of a batch, for oracles; undefined for an unknown id. */
  batch(id: string): EmulatedBatch | undefined;
  /** The internal state of an Anthropic Message Batch, for oracles; undefined for an unknown id. */
  messageBatch(id: string): EmulatedMessageBatch | undefined;
  /** For each input request of the batch (OpenAI or Anthropic), what the emulator served (the e2e oracle). */
  expectedOutcomes(batchId: string): Promise<ExpectedBatchOutcomes>;
}

const DEFAULT_CLOCK = { validatingMs: 200, inProgressMs: 1000, finalizingMs: 200 };
/** Anthropic takes a Message Batch's requests inline, up to 256 MB. */
const MAX_MESSAGE_BATCH_BODY_BYTES = 256 * 1024 * 1024;
/** Paths of Anthropic's API, which authenticates and answers errors its own way. */
const ANTHROPIC_PATH = /^\/v1\/messages\//;

interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  query: URLSearchParams;
  /** `http://host:port` as the client reached us, for URLs we hand out (Anthropic's `results_url`). */
  origin: string;
}

interface Route {
  method: string;
  pattern: RegExp;
  handle: (ctx: RouteContext) => Promise<void>;
}

/**
 * Starts an OpenAI-compatible Batches + Files server (and Anthropic Message Batches) on 127.0.0.1. Batches answer
 * each request as its job type declares, deterministically (chat answers satisfying the response schema,
 * embeddings of the requested dimension); status advances lazily with the clock; tests script answer shares, line
 * faults, batch outcomes and HTTP faults.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const now = options.now ?? Date.now;
  const clock: EmulatorClock = {
    validatingMs: options.clock?.validatingMs ?? DEFAULT_CLOCK.validatingMs,
    inProgressMs: options.clock?.inProgressMs ?? DEFAULT_CLOCK.inProgressMs,
    finalizingMs: options.clock?.finalizingMs ?? DEFAULT_CLOCK.finalizingMs,
    cancellingMs: options.clock?.cancellingMs ?? options.clock?.finalizingMs ?? DEFAULT_CLOCK.finalizingMs,
  };
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'batchline-emulator-')));
  await mkdir(dataDir, { recursive: true });

  const jobTypes = options.jobTypes ?? builtInJobTypes();
  checkAnswerShares(
    options.answerShares,
    jobTypes.all().map((jobType) => jobType.name),
  );
  const answering = {
    jobTypes,
    answerShares: options.answerShares,
    cachedPromptShare: options.cachedPromptShare,
    lineFaults: countingAttempts(options.lineFaults),
  };
  const files = new FileStore(dataDir, now, options.enqueuedTokenLimit !== undefined);
  const batches = new BatchService(files, clock, now, {
    ...answering,
    batchOutcome: options.batchOutcome,
    enqueuedTokenLimit: options.enqueuedTokenLimit,
  });
  const messageBatches = new MessageBatchService(clock, now, {
    ...answering,
    messageBatchOutcome: options.messageBatchOutcome,
  });
  const faults = new HttpFaults();
  const requests: RequestLogEntry[] = [];
  const routes = [...apiRoutes(files, batches), ...messageBatchRoutes(messageBatches)];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    res.on('close', () => {
      requests.push({
        method,
        path: url.pathname,
        status: res.statusCode,
        completed: res.writableFinished,
        at: now(),
      });
    });
    serve(req, res, method, url).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, err, ANTHROPIC_PATH.test(url.pathname));
      else res.destroy();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse, method: string, url: URL): Promise<void> {
    res.setHeader('x-request-id', randomId('req_'));
    const fault = faults.take(method, url.pathname);
    if (fault?.delayMs !== undefined && !(await delayResponse(res, fault.delayMs))) return;
    const anthropic = ANTHROPIC_PATH.test(url.pathname);
    if (fault?.status !== undefined) {
      req.resume();
      sendFault(res, fault, anthropic);
      return;
    }
    if (fault?.truncateAfterBytes !== undefined) limitResponseBody(res, fault.truncateAfterBytes, 'truncate');
    else if (fault?.stallAfterBytes !== undefined) limitResponseBody(res, fault.stallAfterBytes, 'stall');

    if (anthropic) authenticateAnthropic(req, options.apiKey);
    else authenticate(req, options.apiKey);
    for (const route of routes) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      await route.handle({
        req,
        res,
        params: match.slice(1).map(decodeURIComponent),
        query: url.searchParams,
        origin: `http://${req.headers.host ?? 'emulator'}`,
      });
      return;
    }
    req.resume();
    if (anthropic) throw new AnthropicApiError(404, `Not found: ${method} ${url.pathname}`);
    throw new ApiError(404, `Invalid URL (${method} ${url.pathname})`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'}:${port}`;

  return {
    baseUrl: `${origin}/v1`,
    anthropicBaseUrl: origin,
    port,
    requests,
    injectHttpFault: (fault) => faults.inject(fault),
    clearHttpFaults: () => faults.clear(),
    batch: (id) => batches.find(id),
    messageBatch: (id) => messageBatches.find(id),
    expectedOutcomes: async (batchId) =>
      messageBatches.find(batchId)
        ? messageBatches.expectedOutcomes(batchId)
        : batches.expectedOutcomes(batchId),
    async close() {
      faults.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Hanging and stalled responses would keep close() waiting for ever.
      server.closeAllConnections();
      await closed;
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function apiRoutes(files: FileStore, batches: BatchService): Route[] {
  const route = (method: string, pattern: RegExp, handle: Route['handle']): Route => ({
    method,
    pattern,
    handle,
  });
  return [
    route('POST', /^\/v1\/files$/, async ({ req, res }) => {
      sendJson(res, 200, files.toObject(await files.upload(req)));
    }),
    route('GET', /^\/v1\/files$/, async ({ res, query }) => {
      const order = query.get('order') ?? 'desc';
      if (order !== 'asc' && order !== 'desc')
        throw badRequest(`Invalid value for 'order': ${order}.`, 'order');
      const { page, hasMore } = files.list({
        purpose: query.get('purpose') ?? undefined,
        order,
        after: query.get('after') ?? undefined,
        limit: limitParam(query, 10_000, 10_000),
      });
      sendJson(res, 200, {
        object: 'list',
        data: page.map((file) => files.toObject(file)),
        first_id: page[0]?.id ?? null,
        last_id: page.at(-1)?.id ?? null,
        has_more: hasMore,
      });
    }),
    route('GET', /^\/v1\/files\/([^/]+)$/, async ({ res, params }) => {
      sendJson(res, 200, files.toObject(files.get(params[0]!)));
    }),
    route('DELETE', /^\/v1\/files\/([^/]+)$/, async ({ res, params }) => {
      await files.delete(params[0]!);
      sendJson(res, 200, { id: params[0], object: 'file', deleted: true });
    }),
    route('GET', /^\/v1\/files\/([^/]+)\/content$/, async ({ res, params }) => {
      const { file, stream } = files.openContent(params[0]!);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes });
      await pipeline(stream, res).catch(() => {
        // The client went away or a fault cut the response: nothing left to answer.
      });
    }),
    route('POST', /^\/v1\/embeddings$/, async ({ req, res }) => {
      sendJson(res, 200, createEmbeddings(await readJson(req)));
    }),
    route('POST', /^\/v1\/batches$/, async ({ req, res }) => {
      sendJson(res, 200, await batches.create(await readJson(req)));
    }),
    route('GET', /^\/v1\/batches$/, async ({ res, query }) => {
      sendJson(
        res,
        200,
        await batches.list({ after: query.get('after') ?? undefined, limit: limitParam(query, 20, 100) }),
      );
    }),
    route('GET', /^\/v1\/batches\/([^/]+)$/, async ({ res, params }) => {
      sendJson(res, 200, await batches.retrieve(params[0]!));
    }),
    route('POST', /^\/v1\/batches\/([^/]+)\/cancel$/, async ({ req, res, params }) => {
      req.resume();
      sendJson(res, 200, await batches.cancel(params[0]!));
    }),
  ];
}

function messageBatchRoutes(batches: MessageBatchService): Route[] {
  const route = (method: string, pattern: RegExp, handle: Route['handle']): Route => ({
    method,
    pattern,
    handle,
  });
  return [
    route('POST', /^\/v1\/messages\/batches$/, async ({ req, res, origin }) => {
      sendJson(res, 200, batches.create(await readJson(req, MAX_MESSAGE_BATCH_BODY_BYTES, true), origin));
    }),
    route('GET', /^\/v1\/messages\/batches$/, async ({ res, query, origin }) => {
      const raw = query.get('limit');
      const limit = raw === null ? 20 : Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new AnthropicApiError(400, 'limit: Input should be between 1 and 1000');
      }
      sendJson(res, 200, batches.list({ afterId: query.get('after_id') ?? undefined, limit }, origin));
    }),
    route('GET', /^\/v1\/messages\/batches\/([^/]+)$/, async ({ res, params, origin }) => {
      sendJson(res, 200, batches.retrieve(params[0]!, origin));
    }),
    route('DELETE', /^\/v1\/messages\/batches\/([^/]+)$/, async ({ res, params }) => {
      sendJson(res, 200, batches.delete(params[0]!));
    }),
    route('POST', /^\/v1\/messages\/batches\/([^/]+)\/cancel$/, async ({ req, res, params, origin }) => {
      req.resume();
      sendJson(res, 200, batches.cancel(params[0]!, origin));
    }),
    route('GET', /^\/v1\/messages\/batches\/([^/]+)\/results$/, async ({ res, params }) => {
      const lines = batches.results(params[0]!);
      // Chunked, line by line with backpressure: a large batch's results are never held whole.
      res.writeHead(200, { 'content-type': 'application/binary' });
      await pipeline(
        Readable.from(
          (function* () {
            for (const line of lines) yield `${line}\n`;
          })(),
        ),
        res,
      ).catch(() => {
        // The client went away or a fault cut the response: nothing left to answer.
      });
    }),
  ];
}

function limitParam(query: URLSearchParams, fallback: number, max: number): number {
  const raw = query.get('limit');
  if (raw === null) return fallback;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw badRequest(
      `Invalid 'limit': ${raw.slice(0, 20)}. It must be an integer between 1 and ${max}.`,
      'limit',
    );
  }
  return limit;
}

/** Bearer auth like OpenAI's: a missing key and a wrong key are both 401, with OpenAI's messages. */
function authenticate(req: IncomingMessage, apiKey: string | undefined): void {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!match) {
    req.resume();
    throw new ApiError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    );
  }
  if (apiKey !== undefined && match[1] !== apiKey) {
    req.resume();
    throw new ApiError(401, `Incorrect API key provided: ${maskKey(match[1]!)}.`, null, 'invalid_api_key');
  }
}

/**
 * Anthropic's auth: the key in `x-api-key`, or as a bearer token (as the SDK sends it since 1.x). A missing or
 * wrong key is 401 `authentication_error`.
 */
function authenticateAnthropic(req: IncomingMessage, apiKey: string | undefined): void {
  const header = req.headers['x-api-key'];
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  const key = typeof header === 'string' && header.trim() !== '' ? header.trim() : bearer;
  if (key === undefined) {
    req.resume();
    throw new AnthropicApiError(401, 'x-api-key header is required');
  }
  if (apiKey !== undefined && key !== apiKey) {
    req.resume();
    throw new AnthropicApiError(401, 'invalid x-api-key');
  }
}

/** Shows the ends of a long key only, as OpenAI does, so that an error message never carries the key. */
const maskKey = (key: string): string =>
  key.length > 16 ? `${key.slice(0, 3)}${'*'.repeat(8)}${key.slice(-4)}` : '*'.repeat(8);

function sendError(res: ServerResponse, err: unknown, anthropic: boolean): void {
  if (err instanceof ApiError) {
    sendJson(res, err.status, err.body);
    return;
  }
  // An emulator bug: answer like OpenAI's 500, and say so where the test run shows it.
  process.emitWarning(
    `batchline emulator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
  );
  const message = 'The server had an error while processing your request.';
  sendJson(res, 500, (anthropic ? new AnthropicApiError(500, message) : new ApiError(500, message)).body);
}

function sendFault(res: ServerResponse, fault: HttpFault, anthropic: boolean): void {
  const status = fault.status ?? 500;
  const message = `Injected fault: status ${status}.`;
  const generated = anthropic ? new AnthropicApiError(status, message) : new ApiError(status, message);
  const body = fault.body === undefined ? generated.body : fault.body;
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain' : 'application/json',
    'content-length': Buffer.byteLength(data),
    ...fault.headers,
  });
  res.end(data);
}
