/**
 * The naive monolith: reads the whole output file into memory, parses every line, then inserts 1,000-row VALUES
 * statements in one transaction. Run by the bench as its own process.
 */
import { parseOpenAIResultLine, type ResultRecord } from '@batchline/domain';
import { builtInJobTypes } from '@batchline/job-types';
import { connect, contenderInput, loadCatalogue, openDownload, startClocks } from './contender.ts';

const ROWS_PER_STATEMENT = 1000;

const input = contenderInput();
const client = await connect(input);
const catalogue = await loadCatalogue(client);
const clocks = await startClocks(client);
const viewpoints = builtInJobTypes().default;

const parts: Buffer[] = [];
for await (const chunk of await openDownload(input)) parts.push(chunk as Buffer);
const lines = Buffer.concat(parts).toString('utf8').split('\n');

const records = new Map<string, ResultRecord>();
lines.forEach((text, index) => {
  const parsed = parseOpenAIResultLine(text, {
    file: 'output',
    line: index + 1,
    jobType: viewpoints,
    isCatalogueKey: (key) => catalogue.has(key),
  });
  if (parsed.kind === 'record' && !records.has(parsed.record.customId))
    records.set(parsed.record.customId, parsed.record);
});
const associations = [...records.values()].flatMap((record) =>
  record.requestId === null ? [] : record.rows.map(([id]) => [record.requestId, id, input.batchLogId]),
);

async function insertAll(table: string, columns: string[], rows: unknown[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const batch = rows.slice(start, start + ROWS_PER_STATEMENT);
    const tuples = batch.map(
      (_, row) => `(${columns.map((_, column) => `$${row * columns.length + column + 1}`).join(', ')})`,
    );
    await client.query(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`,
      batch.flat(),
    );
  }
}

await client.query('BEGIN');
await insertAll(
  'batch_request_results',
  [
    'batch_log_id',
    'custom_id',
    'outcome',
    'error_code',
    'error_message',
    'review_sentence_id',
    'prompt_tokens',
    'completion_tokens',
  ],
  [...records.values()].map((r) => [
    input.batchLogId,
    r.customId,
    r.outcome,
    r.errorCode,
    r.errorMessage,
    r.requestId,
    r.promptTokens,
    r.completionTokens,
  ]),
);
await insertAll(
  'review_sentences_wl_spec_vp',
  ['review_sentence_id', 'wl_spec_vp_id', 'batch_log_id'],
  associations,
);
await client.query('COMMIT');

clocks.report({
  lines: lines.filter((line) => line.trim() !== '').length,
  results: records.size,
  associations: associations.length,
});
await client.end();
