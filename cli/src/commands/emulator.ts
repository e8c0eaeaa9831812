import { parseDuration } from '@batchline/config';
import { parseAnswerShares, parseEnqueuedTokenLimit, startEmulator } from '@batchline/emulator';
import { loadJobTypes } from '@batchline/job-types';
import { UsageError } from '../errors.ts';
import type { Command } from './command.ts';

const durationOption = (name: string, value: unknown): number => {
  const ms = typeof value === 'string' ? parseDuration(value) : null;
  if (ms === null) throw new UsageError(`--${name} must be a duration such as 500ms, 5s or 1m`);
  return ms;
};

export const emulatorCommand: Command = {
  name: 'emulator',
  usage:
    'batchline emulator [--port N] [--host H] [--validating D] [--in-progress D] [--finalizing D] [--invalid-share S] [--unknown-share S] [--enqueued-token-limit L]',
  summary:
    'serves the OpenAI-compatible Batches + Files emulator (for laptops, compose and demos) until interrupted',
  details: [
    'Point OPENAI_BASE_URL at the printed URL; any non-empty OPENAI_API_KEY is accepted.',
    'Answers the job types of BATCHLINE_JOB_TYPES and the built-in ones, deterministically.',
    '--invalid-share / --unknown-share: the share of answers that are invalid / name an unknown catalogue key,',
    '  for every job type (0.05), one (review_sentiment=0.2) or both (0.05,review_sentiment=0.2).',
    "--enqueued-token-limit: OpenAI's enqueued-token limit, for every model (2000000) or per model",
    '  (gpt-4o-mini=90000,gpt-4o=30000); a batch past it fails with token_limit_exceeded. Default: none.',
  ],
  options: {
    port: { type: 'string', default: '8089' },
    host: { type: 'string', default: '127.0.0.1' },
    validating: { type: 'string', default: '2s' },
    'in-progress': { type: 'string', default: '20s' },
    finalizing: { type: 'string', default: '2s' },
    'invalid-share': { type: 'string' },
    'unknown-share': { type: 'string' },
    'enqueued-token-limit': { type: 'string' },
  },
  async run({ values, positionals }) {
    if (positionals.length > 0) throw new UsageError('emulator takes no arguments');
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError('--port must be a TCP port number');
    const jobTypes = loadJobTypes(process.env.BATCHLINE_JOB_TYPES);
    let answerShares: ReturnType<typeof parseAnswerShares>;
    try {
      answerShares = parseAnswerShares(
        {
          invalid: values['invalid-share'] as string | undefined,
          unknownReference: values['unknown-share'] as string | undefined,
        },
        jobTypes.all().map((jobType) => jobType.name),
      );
    } catch (err) {
      throw new UsageError(`--invalid-share / --unknown-share: ${(err as Error).message}`);
    }
    let enqueuedTokenLimit: ReturnType<typeof parseEnqueuedTokenLimit> | undefined;
    try {
      const text = values['enqueued-token-limit'] as string | undefined;
      enqueuedTokenLimit = text === undefined ? undefined : parseEnqueuedTokenLimit(text);
    } catch (err) {
      throw new UsageError(`--enqueued-token-limit: ${(err as Error).message}`);
    }
    const emulator = await startEmulator({
      port,
      host: String(values.host),
      jobTypes,
      answerShares,
      enqueuedTokenLimit,
      clock: {
        validatingMs: durationOption('validating', values.validating),
        inProgressMs: durationOption('in-progress', values['in-progress']),
        finalizingMs: durationOption('finalizing', values.finalizing),
      },
    });
    console.log(`OpenAI emulator listening; OPENAI_BASE_URL=${emulator.baseUrl}`);
    await new Promise<void>((resolve) => {
      const stop = () => void emulator.close().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
