import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTargetTables, insertBatchJob, insertBatchLog, type Pool } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import { type JobType, type JobTypeSet, loadJobTypes } from '@batchline/job-types';
import { entitiesDeclaration } from './job-type-declarations.ts';

/** The job types of the results tests: the built-in ones and `entities` (text, real and jsonb columns). */
export function entitiesJobTypes(): { jobTypes: JobTypeSet; entities: JobType } {
  const file = join(mkdtempSync(join(tmpdir(), 'batchline-entities-')), 'entities.json');
  writeFileSync(file, JSON.stringify(entitiesDeclaration()));
  const jobTypes = loadJobTypes(file);
  return { jobTypes, entities: jobTypes.named('entities') };
}

/** One landed row of `analytics.document_entities`, as seeded (values a CSV must quote on purpose). */
export interface EntityRow {
  doc_id: number;
  name: string;
  kind: string;
  confidence: number | null;
  meta: unknown;
}

type Outcome =
  | { doc: number; ok: true; rows: Omit<EntityRow, 'doc_id'>[] }
  | { doc: number; ok: false; code: string };

export interface SeededJob {
  jobId: number;
  /** Part 0, part 1, and the retry round of both parts' retryable failures. */
  parts: [number, number];
  retry: number;
  /** Every row landed, in the export's order (batch, then key). */
  rows: (EntityRow & { batch_log_id: number })[];
}

const SPEC: { part: 0 | 1 | 'retry'; outcomes: Outcome[] }[] = [
  {
    part: 0,
    outcomes: [
      {
        doc: 1,
        ok: true,
        rows: [
          { name: 'Smith, "John"', kind: 'person', confidence: 0.5, meta: { tags: ['a,b', 'c"d'] } },
          { name: 'line one\nline two\r\nthree', kind: 'place', confidence: null, meta: null },
        ],
      },
      { doc: 2, ok: true, rows: [{ name: 'Zoë \\ back\tslash', kind: 'place', confidence: 1, meta: {} }] },
      { doc: 3, ok: false, code: 'http_500' },
    ],
  },
  {
    part: 1,
    outcomes: [
      { doc: 4, ok: false, code: 'http_429' },
      { doc: 5, ok: false, code: 'invalid_content' },
    ],
  },
  {
    part: 'retry',
    outcomes: [
      { doc: 3, ok: true, rows: [{ name: '', kind: 'person', confidence: 0.25, meta: { n: 1 } }] },
      { doc: 4, ok: false, code: 'http_429' },
    ],
  },
];

/**
 * A job of `entities` as the pipeline leaves it after a retry round: two parts (docs 1–3 and 4–5) and one retry
 * round of docs 3 and 4, every batch final. Docs 1–3 end succeeded, 4 failed `http_429` (twice), 5 `invalid_content`.
 */
export async function seedEntitiesJob(pool: Pool, entities: JobType, label: string): Promise<SeededJob> {
  await ensureTargetTables(pool, [entities]);
  const jobId = await insertBatchJob(pool, {
    jobType: 'entities',
    provider: 'openai',
    model: 'gpt-4o-mini',
    origin: 'submit',
    totalRequests: 5,
  });
  const ids: number[] = [];
  const rows: SeededJob['rows'] = [];
  for (const { part, outcomes } of SPEC) {
    const { id } = await insertBatchLog(pool, {
      provider: 'openai',
      batchId: `batch_${label}_${jobId}_${part}`,
      model: 'gpt-4o-mini',
      jobType: 'entities',
      totalSentences: outcomes.length,
      inputFileId: `file-${label}-${part}`,
      firstPollDelayMs: 60_000,
      job:
        part === 'retry'
          ? { batchJobId: jobId, partIndex: null, parentBatchLogId: ids[1]!, retryRound: 1 }
          : { batchJobId: jobId, partIndex: part, parentBatchLogId: null, retryRound: 0 },
    });
    ids.push(id);
    for (const outcome of outcomes) {
      await pool.query(
        `INSERT INTO batch_request_results (batch_log_id, custom_id, outcome, error_code, error_message, review_sentence_id)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          id,
          entities.customIdFor(outcome.doc),
          outcome.ok ? 'succeeded' : 'failed',
          outcome.ok ? null : outcome.code,
          outcome.ok ? null : `the provider said ${outcome.code}`,
          outcome.doc,
        ],
      );
      if (!outcome.ok) continue;
      for (const row of [...outcome.rows].sort((a, b) => (a.name < b.name ? -1 : 1))) {
        await pool.query(
          `INSERT INTO analytics.document_entities (doc_id, name, kind, confidence, meta, batch_log_id)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6)`,
          [
            outcome.doc,
            row.name,
            row.kind,
            row.confidence,
            row.meta === null ? null : JSON.stringify(row.meta),
            id,
          ],
        );
        rows.push({ doc_id: outcome.doc, ...row, batch_log_id: id });
      }
    }
    const succeeded = outcomes.filter((outcome) => outcome.ok).length;
    await pool.query(
      `UPDATE batch_jobs_vp_logs SET processed_sentences = $2, failed_sentences = $3, provider_status = 'completed',
         provider_terminal_at = now(), status = ${BatchStatus.completed}, results_landed_at = now()
       WHERE id = $1`,
      [id, succeeded, outcomes.length - succeeded],
    );
  }
  return { jobId, parts: [ids[0]!, ids[1]!], retry: ids[2]!, rows };
}

/** RFC 4180 CSV (Postgres's COPY CSV): quoted fields may hold commas, quotes and line breaks; an unquoted empty
 * field is NULL. */
export function parseCsv(text: string): (string | null)[][] {
  const records: (string | null)[][] = [];
  let record: (string | null)[] = [];
  let i = 0;
  while (i < text.length) {
    let field: string | null;
    if (text[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const quote = text.indexOf('"', i);
        value += text.slice(i, quote);
        i = quote + 1;
        if (text[i] !== '"') break;
        value += '"';
        i += 1;
      }
      field = value;
    } else {
      let end = i;
      while (end < text.length && text[end] !== ',' && text[end] !== '\n') end += 1;
      field = end === i ? null : text.slice(i, end);
      i = end;
    }
    record.push(field);
    if (text[i] === ',') i += 1;
    else {
      records.push(record);
      record = [];
      i += 1;
    }
  }
  return records;
}
