import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAT_COMPLETIONS_URL, type ParsedLine, parseOpenAIResultLine } from '@batchline/domain';
import { builtInJobTypes } from '@batchline/job-types';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchOutcome, type Emulator, type LineFault, startEmulator } from '../index.ts';
import { CATALOGUE, manualClock, writeInputFile } from './fixtures.ts';
import { specErrors } from './spec-validator.ts';

const CLOCK = { validatingMs: 1_000, inProgressMs: 10_000, finalizingMs: 1_000 };
const WHOLE_RUN = CLOCK.validatingMs + CLOCK.inProgressMs + CLOCK.finalizingMs;

/** Twelve sentences, each one mentioning the battery so that a normal answer is `[11]`. */
const SENTENCES = Array.from({ length: 12 }, (_, i) => ({
  id: i + 1,
  text: `Battery note number ${i + 1}.`,
}));

const LINE_FAULTS: Record<string, LineFault> = {
  'rs-1': { kind: 'error', code: 'server_error', message: 'The model crashed.' },
  'rs-2': { kind: 'http', status: 500 },
  'rs-3': { kind: 'content', content: 'The sentence is about the battery.' },
  'rs-4': { kind: 'content', content: '{"viewpoint_ids": [11, 999]}' },
  'rs-5': { kind: 'omit' },
  'rs-6': { kind: 'garbage', text: '{"id": "batch_req_cut' },
  'rs-7': { kind: 'duplicate' },
  'rs-8': { kind: 'content', content: '{"viewpoint_ids": []}' },
  'rs-9': { kind: 'http', status: 429 },
};

describe('emulator: result lines, line faults, batch outcomes and the oracle', () => {
  const time = manualClock();
  const outcomes = new Map<string, BatchOutcome>();
  let emulator: Emulator;
  let client: OpenAI;
  let dir: string;
  let inputPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-lines-'));
    inputPath = await writeInputFile(dir, SENTENCES);
    emulator = await startEmulator({
      clock: CLOCK,
      now: time.now,
      lineFaults: (customId) => LINE_FAULTS[customId],
      batchOutcome: (batch) => outcomes.get(batch.metadata?.scenario ?? ''),
    });
    client = new OpenAI({ apiKey: 'sk-any-key-is-accepted', baseURL: emulator.baseUrl, maxRetries: 0 });
  });

  afterAll(async () => {
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function runBatch(scenario: string, path = inputPath) {
    const file = await client.files.create({ file: createReadStream(path), purpose: 'batch' });
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: CHAT_COMPLETIONS_URL,
      completion_window: '24h',
      metadata: { scenario },
    });
    time.advance(WHOLE_RUN);
    const batch = await client.batches.retrieve(created.id);
    expect(specErrors('Batch', batch)).toEqual([]);
    return batch;
  }

  async function parseFile(
    fileId: string | null | undefined,
    file: 'output' | 'error',
  ): Promise<ParsedLine[]> {
    if (!fileId) return [];
    const text = await (await client.files.content(fileId)).text();
    expect(text.endsWith('\n')).toBe(true);
    return text
      .slice(0, -1)
      .split('\n')
      .map((line, i) =>
        parseOpenAIResultLine(line, {
          file,
          line: i + 1,
          jobType: builtInJobTypes().default,
          isCatalogueKey: (key) => CATALOGUE.some((v) => String(v.id) === key),
        }),
      );
  }

  /** The records of both files by custom_id, and the unattributable lines. */
  async function served(batch: OpenAI.Batch) {
    const lines = [
      ...(await parseFile(batch.output_file_id, 'output')),
      ...(await parseFile(batch.error_file_id, 'error')),
    ];
    const records = new Map<string, Extract<ParsedLine, { kind: 'record' }>['record'][]>();
    for (const line of lines) {
      if (line.kind !== 'record') continue;
      records.set(line.record.customId, [...(records.get(line.record.customId) ?? []), line.record]);
    }
    const invalid = lines.flatMap((l) => (l.kind === 'invalid_line' ? [{ file: l.file, line: l.line }] : []));
    return { records, invalid };
  }

  /** The oracle must agree with what a contract §4 parser reads from the served files. */
  async function expectOracleMatchesFiles(batch: OpenAI.Batch) {
    const expected = await emulator.expectedOutcomes(batch.id);
    const { records, invalid } = await served(batch);
    expect(expected.final).toBe(true);
    expect(expected.unattributableLines).toEqual(invalid);
    for (const outcome of expected.outcomes) {
      const got = records.get(outcome.customId);
      if (outcome.outcome === 'missing') {
        expect(got, outcome.customId).toBeUndefined();
        continue;
      }
      expect(got, outcome.customId).toBeDefined();
      for (const record of got!) {
        expect(record.outcome, outcome.customId).toBe(outcome.outcome);
        if (outcome.outcome === 'succeeded')
          expect(record.rows).toEqual(outcome.viewpointIds.map((id) => [id]));
        else expect(record.errorCode).toBe(outcome.errorCode);
      }
    }
    return expected;
  }

  it('turns each line fault into the bad-line kind of contract §4', async () => {
    const batch = await runBatch('faults');
    expect(batch.status).toBe('completed');
    // rs-1 (error) and rs-2, rs-9 (http) fail; the others count as completed, including the lost ones.
    expect(batch.request_counts).toEqual({ total: 12, completed: 9, failed: 3 });

    const { records, invalid } = await served(batch);
    const codeOf = (customId: string) => records.get(customId)?.map((r) => r.errorCode);
    expect(codeOf('rs-1')).toEqual(['server_error']);
    expect(codeOf('rs-2')).toEqual(['http_500']);
    expect(codeOf('rs-9')).toEqual(['http_429']);
    expect(codeOf('rs-3')).toEqual(['invalid_content']);
    expect(codeOf('rs-4')).toEqual(['unknown_viewpoint']);
    expect(records.has('rs-5')).toBe(false);
    expect(records.has('rs-6')).toBe(false);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.file).toBe('output');
    expect(records.get('rs-7')).toHaveLength(2);
    expect(records.get('rs-7')!.every((r) => r.outcome === 'succeeded')).toBe(true);
    expect(records.get('rs-8')).toEqual([expect.objectContaining({ outcome: 'succeeded', rows: [] })]);
    for (const id of [10, 11, 12]) {
      expect(records.get(`rs-${id}`)).toEqual([
        expect.objectContaining({ outcome: 'succeeded', rows: [[11]] }),
      ]);
    }

    const expected = await expectOracleMatchesFiles(batch);
    expect(expected.outcomes.find((o) => o.customId === 'rs-5')).toMatchObject({ outcome: 'missing' });
    expect(expected.outcomes.find((o) => o.customId === 'rs-6')).toMatchObject({
      errorCode: 'missing_result',
    });
  });

  it('writes error-file lines in OpenAI’s two shapes', async () => {
    const batch = await runBatch('error-shapes');
    const text = await (await client.files.content(batch.error_file_id!)).text();
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const withError = lines.find((l) => l.custom_id === 'rs-1');
    expect(withError).toMatchObject({
      response: null,
      error: { code: 'server_error', message: 'The model crashed.' },
    });
    expect(withError.id).toMatch(/^batch_req_/);
    const withStatus = lines.find((l) => l.custom_id === 'rs-2');
    expect(withStatus).toMatchObject({ error: null, response: { status_code: 500 } });
    expect(withStatus.response.request_id).toMatch(/^req_/);
    expect(Object.keys(withStatus.response.body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  });

  it('marks a request with a malformed custom_id invalid_custom_id', async () => {
    const path = join(dir, 'odd-ids.jsonl');
    const [firstLine] = (await readFile(inputPath, 'utf8')).split('\n');
    const odd = { ...JSON.parse(firstLine!), custom_id: 'review-one' };
    await writeFile(path, `${JSON.stringify(odd)}\n`);
    const batch = await runBatch('odd-ids', path);
    const { records } = await served(batch);
    expect(records.get('review-one')).toEqual([expect.objectContaining({ errorCode: 'invalid_custom_id' })]);
    const expected = await expectOracleMatchesFiles(batch);
    expect(expected.outcomes).toEqual([
      { customId: 'review-one', outcome: 'failed', errorCode: 'invalid_custom_id' },
    ]);
  });

  it('fails a batch with a scripted error list and no files', async () => {
    outcomes.set('failed', {
      status: 'failed',
      errors: [{ code: 'token_limit_exceeded', message: 'Enqueued token limit reached.', line: null }],
    });
    const batch = await runBatch('failed');
    expect(batch.status).toBe('failed');
    expect(batch.failed_at).not.toBeNull();
    expect(batch.errors).toEqual({
      object: 'list',
      data: [
        { code: 'token_limit_exceeded', message: 'Enqueued token limit reached.', param: null, line: null },
      ],
    });
    expect(batch.output_file_id).toBeNull();
    expect(batch.error_file_id).toBeNull();
    const expected = await emulator.expectedOutcomes(batch.id);
    expect(expected.outcomes.every((o) => o.outcome === 'missing')).toBe(true);
  });

  it('expires a batch with partial output; the rest is batch_expired', async () => {
    outcomes.set('expired', { status: 'expired', completedFraction: 0.5 });
    const batch = await runBatch('expired');
    expect(batch.status).toBe('expired');
    expect(batch.expired_at).not.toBeNull();
    expect(batch.request_counts!.total).toBe(12);
    expect(batch.request_counts!.completed + batch.request_counts!.failed).toBe(12);
    const expected = await expectOracleMatchesFiles(batch);
    const expiredCount = expected.outcomes.filter(
      (o) => o.outcome === 'failed' && o.errorCode === 'batch_expired',
    );
    expect(expiredCount).toHaveLength(6);
  });

  it('cancels by script after a share of the requests ran', async () => {
    outcomes.set('cancelled', { status: 'cancelled', completedFraction: 0.25 });
    const batch = await runBatch('cancelled');
    expect(batch.status).toBe('cancelled');
    expect(batch.cancelling_at).not.toBeNull();
    const expected = await expectOracleMatchesFiles(batch);
    const cancelled = expected.outcomes.filter(
      (o) => o.outcome === 'failed' && o.errorCode === 'batch_cancelled',
    );
    expect(cancelled).toHaveLength(9);
  });

  it('completes with only an error file when every request failed', async () => {
    outcomes.set('no-output', { status: 'completed', noOutput: true });
    const batch = await runBatch('no-output');
    expect(batch.status).toBe('completed');
    expect(batch.output_file_id).toBeNull();
    expect(batch.error_file_id).toMatch(/^file-/);
    expect(batch.request_counts!.completed).toBe(1); // rs-5's line was lost, not failed
    await expectOracleMatchesFiles(batch);
  });

  it('fails validation for a malformed input file, with line numbers in the errors', async () => {
    const path = join(dir, 'malformed.jsonl');
    const good = (i: number) =>
      JSON.stringify({
        custom_id: `rs-${i}`,
        method: 'POST',
        url: CHAT_COMPLETIONS_URL,
        body: { model: 'm' },
      });
    await writeFile(path, [good(1), 'not json', good(1), JSON.stringify({ custom_id: 'rs-3' })].join('\n'));
    const file = await client.files.create({ file: createReadStream(path), purpose: 'batch' });
    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: CHAT_COMPLETIONS_URL,
      completion_window: '24h',
    });
    expect(created.status).toBe('validating');
    time.advance(CLOCK.validatingMs);
    const batch = await client.batches.retrieve(created.id);
    expect(specErrors('Batch', batch)).toEqual([]);
    expect(batch.status).toBe('failed');
    expect(batch.errors!.data!.map((e) => [e.code, e.line])).toEqual([
      ['invalid_json_line', 2],
      ['duplicate_custom_id', 3],
      ['missing_required_parameter', 4],
    ]);
  });
});
