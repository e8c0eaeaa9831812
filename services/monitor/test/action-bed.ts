import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBatchLog } from '@batchline/db';
import { CHAT_COMPLETIONS_URL } from '@batchline/domain';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { builtInJobTypes } from '@batchline/job-types';
import { type BatchProvider, createOpenAIProvider } from '@batchline/providers';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { asOperator, type BatchSpec, buildTestApp, seedBatch } from './support.ts';

const MONITORING = '/api/admin/batch-monitoring';
const VIEWPOINTS = builtInJobTypes().default;
const REQUEST_CONTEXT = {
  model: 'gpt-4o-mini',
  catalogue: [1, 2, 3, 4, 5].map((id) => ({ key: String(id), label: `viewpoint ${id}` })),
};

/** The request line of sentence `id`, as `submit` writes it. */
export const requestLine = (id: number) =>
  JSON.stringify(
    VIEWPOINTS.requestLine('openai', { id, fields: { text: `sentence number ${id}` } }, REQUEST_CONTEXT),
  );

/** What the action tests work with; filled before the file's first test. */
export interface ActionBed {
  db: MigratedTestDatabase;
  emulator: Emulator;
  provider: BatchProvider;
  app: FastifyInstance;
  /** Submits requests for sentences `ids` to the emulator, and records the batch as `spec` says. */
  submittedBatch(
    ids: number[],
    spec: Omit<BatchSpec, 'providerBatchId' | 'inputFileId'>,
  ): Promise<{ id: number; providerBatchId: string }>;
  /** The lines of batch log `batchLogId`'s input file at the provider (what a retry resubmitted). */
  inputLines(batchLogId: number): Promise<string[]>;
  /** POSTs an admin action as an operator. */
  post(path: string, payload?: unknown): ReturnType<FastifyInstance['inject']>;
}

/**
 * A database of its own, the emulator (whose batches stay in progress for ten minutes: long enough to cancel one)
 * and the monitor's app acting through it, for one test file.
 */
export function useActionBed(name: string): ActionBed {
  let scratch = '';
  let files = 0;
  const bed = {
    async submittedBatch(ids, spec) {
      files += 1;
      const path = join(scratch, `input-${files}.jsonl`);
      await writeFile(path, `${ids.map(requestLine).join('\n')}\n`);
      const batch = await bed.provider.uploadAndCreateBatch({
        inputPath: path,
        endpoint: CHAT_COMPLETIONS_URL,
      });
      const id = await seedBatch(
        bed.db.pool,
        { ...spec, providerBatchId: batch.id, inputFileId: batch.inputFileId! },
        ids[0],
      );
      return { id, providerBatchId: batch.id };
    },
    async inputLines(batchLogId) {
      const log = await getBatchLog(bed.db.pool, batchLogId);
      let text = '';
      for await (const chunk of await bed.provider.openFile(log!.inputFileId!))
        text += (chunk as Buffer).toString();
      return text.split('\n').filter((line) => line.length > 0);
    },
    post: (path, payload = {}) =>
      bed.app.inject({
        method: 'POST',
        url: `${MONITORING}${path}`,
        headers: asOperator,
        payload: payload as object,
      }),
  } as ActionBed;
  beforeAll(async () => {
    bed.db = await migratedTestDatabase(name);
    bed.emulator = await startEmulator({ clock: { validatingMs: 50, inProgressMs: 600_000 } });
    bed.provider = createOpenAIProvider({ apiKey: 'sk-emulated-test-key', baseURL: bed.emulator.baseUrl });
    bed.app = await buildTestApp(bed.db.pool, { providers: { openai: bed.provider } });
    scratch = await mkdtemp(join(tmpdir(), `${name}-`));
  });
  afterAll(async () => {
    await bed.app?.close();
    await bed.emulator?.close();
    await bed.db?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });
  return bed;
}
