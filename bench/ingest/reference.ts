/**
 * The single-process streaming reference: downloads the output file as a stream, splits lines from Buffers,
 * validates each line, streams the outcomes into one COPY and then the associations (held as COPY text) into a
 * second, in one transaction. Run by the bench as its own process.
 */
import { once } from 'node:events';
import { copyTextField } from '@batchline/db';
import { LineSplitter, parseOpenAIResultLine, type SplitLine } from '@batchline/domain';
import { builtInJobTypes } from '@batchline/job-types';
import { from as copyFrom } from 'pg-copy-streams';
import { connect, contenderInput, loadCatalogue, openDownload, startClocks } from './contender.ts';

const input = contenderInput();
const client = await connect(input);
const catalogue = await loadCatalogue(client);
const clocks = await startClocks(client);
const viewpoints = builtInJobTypes().default;

await client.query('BEGIN');
const outcomes = client.query(
  copyFrom(
    `COPY batch_request_results (batch_log_id, custom_id, outcome, error_code, error_message, review_sentence_id,
       prompt_tokens, completion_tokens) FROM STDIN`,
  ),
);
const outcomesDone = once(outcomes, 'finish');
const associationLines: string[] = [];
const seen = new Set<string>();
let lines = 0;
let results = 0;
let pendingText = '';

const onLine = (line: SplitLine) => {
  lines += 1;
  if (line.text === null) return;
  const parsed = parseOpenAIResultLine(line.text, {
    file: 'output',
    line: line.line,
    jobType: viewpoints,
    isCatalogueKey: (key) => catalogue.has(key),
  });
  if (parsed.kind !== 'record' || seen.has(parsed.record.customId)) return;
  const record = parsed.record;
  seen.add(record.customId);
  results += 1;
  pendingText += `${[
    input.batchLogId,
    record.customId,
    record.outcome,
    record.errorCode,
    record.errorMessage,
    record.requestId,
    record.promptTokens,
    record.completionTokens,
  ]
    .map(copyTextField)
    .join('\t')}\n`;
  if (record.requestId === null) return;
  for (const [viewpointId] of record.rows) {
    associationLines.push(`${record.requestId}\t${viewpointId}\t${input.batchLogId}\n`);
  }
};

const splitter = new LineSplitter();
for await (const chunk of await openDownload(input)) {
  splitter.push(chunk as Buffer, onLine);
  if (!outcomes.write(pendingText)) await once(outcomes, 'drain');
  pendingText = '';
}
splitter.end(onLine);
outcomes.end(pendingText);
await outcomesDone;

const associations = client.query(
  copyFrom('COPY review_sentences_wl_spec_vp (review_sentence_id, wl_spec_vp_id, batch_log_id) FROM STDIN'),
);
const associationsDone = once(associations, 'finish');
associations.end(associationLines.join(''));
await associationsDone;
await client.query('COMMIT');

clocks.report({
  lines,
  results,
  associations: associationLines.length,
});
await client.end();
