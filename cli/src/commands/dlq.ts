import { type Bus, type DeadLetter, deadLetterOf, redriveDeadLetter } from '@batchline/bus';
import { commandContext } from '../context.ts';
import { CommandError, UsageError } from '../errors.ts';
import { formatTable } from '../table.ts';
import { positiveInteger, withBus } from './bus-command.ts';
import type { Command } from './command.ts';

const ERROR_COLUMN_WIDTH = 80;

async function deadLetters(bus: Bus, subject: string | undefined): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  const selection = subject ? { subject: `dlq.${subject}` } : {};
  for await (const message of bus.readStream('DLQ', selection))
    letters.push(deadLetterOf(message, bus.naming));
  return letters;
}

async function deadLetter(bus: Bus, dlqSeq: number): Promise<DeadLetter> {
  const message = await bus.getRecorded('DLQ', dlqSeq);
  if (!message) throw new CommandError(`the DLQ has no message ${dlqSeq} (redriven, or expired)`);
  return deadLetterOf(message, bus.naming);
}

function batchOf(letter: DeadLetter): string {
  try {
    const body = JSON.parse(new TextDecoder().decode(letter.data)) as { providerBatchId?: unknown };
    return typeof body.providerBatchId === 'string' ? body.providerBatchId : '';
  } catch {
    return '';
  }
}

/** A dead letter as `dlq list --json` shows it (`dlq show` adds its headers and payload). */
const letterJson = (l: DeadLetter) => ({
  dlqSeq: l.dlqSeq,
  recordedAt: l.recordedAt.toISOString(),
  subject: l.subject,
  stream: l.stream,
  streamSeq: l.streamSeq,
  consumer: l.consumer,
  deliveryCount: l.deliveryCount,
  via: l.via,
  providerBatchId: batchOf(l) || null,
  error: l.error,
});

function list(letters: DeadLetter[], json: boolean): void {
  if (json) {
    console.log(JSON.stringify(letters.map(letterJson), null, 2));
    return;
  }
  if (letters.length === 0) {
    console.log('the DLQ is empty');
    return;
  }
  console.log(
    formatTable(
      ['dlq seq', 'recorded', 'subject', 'original', 'consumer', 'deliveries', 'via', 'batch', 'error'],
      letters.map((l) => [
        l.dlqSeq,
        l.recordedAt.toISOString(),
        l.subject,
        `${l.stream}:${l.streamSeq}`,
        l.consumer,
        l.deliveryCount,
        l.via,
        batchOf(l),
        l.error.length > ERROR_COLUMN_WIDTH ? `${l.error.slice(0, ERROR_COLUMN_WIDTH - 1)}…` : l.error,
      ]),
    ),
  );
}

function show(letter: DeadLetter): void {
  const text = new TextDecoder().decode(letter.data);
  let payload: unknown = text;
  try {
    payload = JSON.parse(text);
  } catch {
    // Not JSON (often why it was dead-lettered): shown as text.
  }
  const { data: _data, ...described } = letter;
  console.log(JSON.stringify({ ...described, payload }, null, 2));
}

async function redrive(bus: Bus, letters: DeadLetter[]): Promise<void> {
  const failures: string[] = [];
  for (const letter of letters) {
    try {
      const published = await redriveDeadLetter(bus, letter);
      console.log(`redriven: dlq ${letter.dlqSeq} → ${letter.subject} (seq ${published.seq})`);
    } catch (error) {
      failures.push(`dlq ${letter.dlqSeq}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) throw new CommandError(`could not redrive ${failures.join('; ')}`);
  if (letters.length === 0) console.log('nothing to redrive');
}

export const dlqCommand: Command = {
  name: 'dlq',
  usage:
    'batchline dlq list [--subject S] [--json] | show DLQ_SEQ | redrive (DLQ_SEQ... | --all [--subject S])',
  summary: 'lists, shows and redrives dead letters (messages that failed for good)',
  details: [
    '',
    'A dead letter keeps the original subject, headers and payload, with the error, the delivery count, the',
    'consumer and how it got there (runner: the handler gave up; max_deliveries: JetStream gave up on it).',
    'redrive publishes each again to its subject under a new msg id and removes it from the DLQ; fix the cause',
    'first. --subject is the original subject, e.g. batch.status.changed.',
    'list --json: an array of {dlqSeq, recordedAt, subject, stream, streamSeq, consumer, deliveryCount, via,',
    'providerBatchId, error}; show always prints JSON.',
  ],
  options: { subject: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } },
  async run({ positionals, values }) {
    const [action, ...rest] = positionals;
    const subject = values.subject as string | undefined;
    const sequences = rest.map((text) => positiveInteger(text, 'a DLQ sequence')!);
    if (action === 'list' || action === 'show') {
      if (values.all) throw new UsageError(`--all goes with redrive, not ${action}`);
    }
    if (values.json && action !== 'list' && action !== 'show')
      throw new UsageError('--json goes with list or show');
    const context = commandContext(false);
    switch (action) {
      case 'list':
        if (rest.length > 0) throw new UsageError('dlq list takes no arguments');
        return withBus(context, async (bus) => list(await deadLetters(bus, subject), values.json === true));
      case 'show':
        if (sequences.length !== 1) throw new UsageError('dlq show takes one DLQ sequence');
        return withBus(context, async (bus) => show(await deadLetter(bus, sequences[0]!)));
      case 'redrive':
        if ((values.all === true) === sequences.length > 0)
          throw new UsageError('dlq redrive takes DLQ sequences or --all (not both)');
        return withBus(context, async (bus) => {
          const letters = values.all
            ? await deadLetters(bus, subject)
            : await Promise.all(sequences.map((seq) => deadLetter(bus, seq)));
          await redrive(bus, letters);
        });
      default:
        throw new UsageError('dlq takes list, show or redrive (see batchline dlq --help)');
    }
  },
};
