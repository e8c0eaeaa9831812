import { RetryCode } from '@batchline/domain';
import { retryFailedRequests } from '@batchline/monitor';
import { runAction } from '../admin-action.ts';
import { commandContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import type { Command } from './command.ts';

/** `--codes a,b`: error codes or patterns (http_5xx), each checked as a retry policy checks them. */
function parseCodes(value: unknown): string[] | null {
  if (value === undefined) return null;
  const codes = String(value)
    .split(',')
    .map((code) => code.trim())
    .filter((code) => code.length > 0);
  if (codes.length === 0)
    throw new UsageError('--codes takes error codes separated by commas, such as http_429,http_5xx');
  const checked = RetryCode.array().safeParse(codes);
  if (!checked.success) throw new UsageError(`--codes: ${checked.error.issues[0]!.message}`);
  return checked.data;
}

export const retryCommand: Command = {
  name: 'retry',
  usage: 'batchline retry BATCH_LOG_ID [--codes CODE,...]',
  summary:
    "resubmits a final batch's failed requests as the next retry round of its job, as the admin API's retry does",
  details: [
    'Without --codes, the failures its job’s retry policy retries (every failure of a batch outside any job);',
    'with --codes (patterns such as http_5xx allowed), the failures of those codes. invalid_custom_id is never',
    'resubmitted, nor a request that already succeeded in another batch of its job. A batch is retried once.',
    'The request lines are rebuilt from the inputs submit recorded (the batcher’s lines for a batcher job; the',
    'provider’s input file for an adopted batch). Audited as cli:<os user>. Prints the new batch',
    'log, its provider batch id and how many requests it holds.',
  ],
  options: { codes: { type: 'string' } },
  async run({ positionals, values }) {
    const [raw, ...rest] = positionals;
    const id = Number(raw);
    if (raw === undefined || rest.length > 0 || !Number.isSafeInteger(id) || id <= 0)
      throw new UsageError('retry takes one batch log id');
    const codes = parseCodes(values.codes);
    const result = await runAction(commandContext(true), 'retry', (deps, request) =>
      retryFailedRequests(deps, request, id, codes),
    );
    console.log(
      `batch log ${result.id}\tprovider batch ${result.batchId}\t${result.requests} requests\tretry of batch log ${result.retryOf}`,
    );
  },
};
