import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBatchLog, insertBatchJob, insertBatchLog } from '@batchline/db';
import { BatchStatus, CHAT_COMPLETIONS_URL } from '@batchline/domain';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { builtInJobTypes } from '@batchline/job-types';
import { createOpenAIProvider } from '@batchline/providers';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support.ts';

const API_KEY = 'sk-cli-retry-test-000000';
const VIEWPOINTS = builtInJobTypes().default;
const requestLine = (id: number) =>
  JSON.stringify(
    VIEWPOINTS.requestLine(
      'openai',
      { id, fields: { text: `sentence ${id}` } },
      { model: 'gpt-4o-mini', catalogue: [{ key: '1', label: 'viewpoint 1' }] },
    ),
  );

describe('batchline retry', () => {
  let db: MigratedTestDatabase;
  let emulator: Emulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    db = await migratedTestDatabase('cli_retry');
    emulator = await startEmulator({ clock: { validatingMs: 50, inProgressMs: 600_000 } });
    dir = await mkdtemp(join(tmpdir(), 'batchline-cli-retry-'));
    env = {
      PATH: process.env.PATH,
      DATABASE_URL: db.url,
      OPENAI_BASE_URL: emulator.baseUrl,
      OPENAI_API_KEY: API_KEY,
    };
  });
  afterAll(async () => {
    await emulator?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A final part of a job: requests 1..4 at the emulator; rs-1 succeeded, rs-2 http_500, rs-3 http_429, rs-4 invalid_content. */
  async function finalPart(): Promise<{ batchJobId: number; batchLogId: number }> {
    const path = join(dir, `input-${Date.now()}.jsonl`);
    await writeFile(path, `${[1, 2, 3, 4].map(requestLine).join('\n')}\n`);
    const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: emulator.baseUrl });
    const batch = await provider.uploadAndCreateBatch({ inputPath: path, endpoint: CHAT_COMPLETIONS_URL });
    const batchJobId = await insertBatchJob(db.pool, {
      jobType: 'specific_viewpoint',
      provider: 'openai',
      model: 'gpt-4o-mini',
      origin: 'submit',
      totalRequests: 4,
      retryPolicy: { codes: ['http_5xx'], maxRounds: 3, delayMs: 60_000 },
    });
    const { id } = await insertBatchLog(db.pool, {
      provider: 'openai',
      batchId: batch.id,
      model: 'gpt-4o-mini',
      totalSentences: 4,
      inputFileId: batch.inputFileId,
      firstPollDelayMs: 60_000,
      job: { batchJobId, partIndex: 0, parentBatchLogId: null, retryRound: 0 },
    });
    await db.pool.query(
      `INSERT INTO batch_request_results (batch_log_id, custom_id, outcome, error_code, review_sentence_id)
       VALUES ($1, 'rs-1', 'succeeded', NULL, 1), ($1, 'rs-2', 'failed', 'http_500', 2),
              ($1, 'rs-3', 'failed', 'http_429', 3), ($1, 'rs-4', 'failed', 'invalid_content', 4)`,
      [id],
    );
    await db.pool.query(
      `UPDATE batch_jobs_vp_logs SET status = ${BatchStatus.completed}, processed_sentences = 1, failed_sentences = 3
       WHERE id = $1`,
      [id],
    );
    return { batchJobId, batchLogId: id };
  }

  it('resubmits the failures of --codes through the admin API’s code path, audited as the cli', async () => {
    const { batchJobId, batchLogId } = await finalPart();
    const outcome = await runCli(['retry', String(batchLogId), '--codes', 'http_4xx,invalid_content'], env);
    expect(outcome.code, outcome.stderr).toBe(0);
    const match = /^batch log (\d+)\tprovider batch (\S+)\t2 requests\tretry of batch log (\d+)$/.exec(
      outcome.stdout.trim(),
    );
    expect(match, outcome.stdout).not.toBeNull();
    expect(Number(match![3])).toBe(batchLogId);
    expect(await getBatchLog(db.pool, Number(match![1]))).toMatchObject({
      batchJobId,
      parentBatchLogId: batchLogId,
      retryRound: 1,
    });
    const { rows } = await db.pool.query(
      `SELECT actor, outcome, details FROM audit_log WHERE action = 'batch.retry' AND target = $1 ORDER BY id`,
      [String(batchLogId)],
    );
    expect(rows.map((row) => [row.actor, row.outcome])).toEqual([
      [expect.stringMatching(/^cli:/), 'started'],
      [expect.stringMatching(/^cli:/), 'success'],
    ]);
    expect(rows[1].details).toMatchObject({ codes: ['http_4xx', 'invalid_content'], requests: 2 });

    const again = await runCli(['retry', String(batchLogId)], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(
      /^batchline: batch log \d+ was retried as batch log \d+ \(already_retried\)$/m,
    );
  });

  it("without --codes follows the job's retry policy, and refuses invalid_custom_id with a clear line", async () => {
    const { batchLogId } = await finalPart();
    const refused = await runCli(['retry', String(batchLogId), '--codes', 'invalid_custom_id'], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--codes: "invalid_custom_id" is never retryable/);
    const outcome = await runCli(['retry', String(batchLogId)], env);
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.stdout).toMatch(/\t1 requests\t/);
  });
});
