import {
  type Bus,
  newReplayRunId,
  notificationStreams,
  type RecordedMessage,
  type ReplaySelection,
  replayableStreams,
  replayMessage,
  type StreamName,
  selectForReplay,
  streamOfSubject,
} from '@batchline/bus';
import { parseDuration } from '@batchline/config';
import { withSpan } from '@batchline/telemetry';
import { commandContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { formatTable } from '../table.ts';
import { positiveInteger, withBus } from './bus-command.ts';
import type { Command } from './command.ts';

/** `--since`/`--until`: an ISO time, or a duration meaning that long ago (`2h`, `3d`). */
function parseTime(text: string | undefined, option: string, now: Date): Date | undefined {
  if (text === undefined) return undefined;
  const ago = parseDuration(text);
  if (ago !== null) return new Date(now.getTime() - ago);
  const at = new Date(text);
  if (Number.isNaN(at.getTime()))
    throw new UsageError(`--${option}: "${text}" is neither an ISO time nor a duration such as 2h`);
  return at;
}

/** The streams to read, from --stream / --subject / --batch, less the notifier's with --no-notify. */
function chooseStreams(values: Record<string, string | boolean | undefined>): StreamName[] {
  const replayable = replayableStreams();
  const noNotify = values['no-notify'] === true;
  const muted = new Set(noNotify ? notificationStreams() : []);
  const subject = values.subject as string | undefined;
  let streams: StreamName[];
  if (typeof values.stream === 'string') {
    streams = values.stream.split(',').map((name) => {
      const stream = name.trim().toUpperCase() as StreamName;
      if (!replayable.includes(stream))
        throw new UsageError(`--stream: ${name} is not a replayable stream (${replayable.join(', ')})`);
      return stream;
    });
  } else if (subject) {
    const stream = streamOfSubject(subject);
    if (!stream || !replayable.includes(stream))
      throw new UsageError(`--subject: no replayable stream records ${subject}`);
    streams = [stream];
  } else if (typeof values.batch === 'string') {
    streams = replayable;
  } else {
    throw new UsageError('say what to replay: --stream, --subject or --batch');
  }
  if (subject && streams.some((stream) => streamOfSubject(subject) !== stream))
    throw new UsageError(`--subject ${subject} is not recorded in ${streams.join(', ')}`);
  const explicitMuted =
    typeof values.stream === 'string' || subject ? streams.filter((s) => muted.has(s)) : [];
  if (explicitMuted.length > 0)
    throw new UsageError(
      `${explicitMuted.join(', ')} is what the notifier reads: leave it out, or drop --no-notify`,
    );
  return streams.filter((stream) => !muted.has(stream));
}

function batchOf(message: RecordedMessage): string {
  try {
    const body = JSON.parse(new TextDecoder().decode(message.data)) as { providerBatchId?: unknown };
    return typeof body.providerBatchId === 'string' ? body.providerBatchId : '';
  } catch {
    return '';
  }
}

async function replay(bus: Bus, selections: ReplaySelection[], dryRun: boolean): Promise<number> {
  const runId = newReplayRunId();
  const rows: unknown[][] = [];
  let count = 0;
  for (const selection of selections) {
    for await (const message of selectForReplay(bus, selection)) {
      count += 1;
      if (dryRun) {
        rows.push([
          message.stream,
          message.seq,
          message.subject,
          message.time.toISOString(),
          batchOf(message),
          message.headers['Nats-Msg-Id'] ?? '',
        ]);
        continue;
      }
      await replayMessage(bus, runId, message);
    }
  }
  if (dryRun) {
    if (rows.length > 0)
      console.log(formatTable(['stream', 'seq', 'subject', 'recorded', 'batch', 'msg id'], rows));
    console.log(`${count} event${count === 1 ? '' : 's'} would be replayed (dry run: nothing was sent)`);
  } else {
    console.log(`replayed ${count} event${count === 1 ? '' : 's'} (replay run ${runId})`);
  }
  return count;
}

export const replayCommand: Command = {
  name: 'replay',
  usage:
    'batchline replay (--stream NAME[,NAME] | --subject SUBJECT | --batch PROVIDER_BATCH_ID) ' +
    '[--since T] [--until T] [--from-seq N] [--to-seq N] [--dry-run] [--no-notify]',
  summary: 'publishes recorded events again (new msg ids) so the services process them once more',
  details: [
    '',
    'Handlers are idempotent: a replay lands rows that are missing and changes nothing else (no second Slack',
    'message). Streams: BATCH_STATUS, BATCH_RESULTS, BATCH_FINAL and the notifier streams; with --batch alone,',
    'every one of them. --since/--until take an ISO time or a duration ago (2h, 3d); --from-seq/--to-seq need',
    'one stream. --no-notify leaves out what the notifier reads. Copies of earlier replays are not replayed.',
  ],
  options: {
    stream: { type: 'string' },
    subject: { type: 'string' },
    batch: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    'from-seq': { type: 'string' },
    'to-seq': { type: 'string' },
    'dry-run': { type: 'boolean' },
    'no-notify': { type: 'boolean' },
  },
  async run({ positionals, values }) {
    if (positionals.length > 0) throw new UsageError('replay takes options only (see --help)');
    const streams = chooseStreams(values);
    if (streams.length === 0)
      throw new UsageError('nothing left to replay once the notifier streams are left out');
    const now = new Date();
    const fromSeq = positiveInteger(values['from-seq'] as string | undefined, '--from-seq');
    const toSeq = positiveInteger(values['to-seq'] as string | undefined, '--to-seq');
    if ((fromSeq ?? toSeq) !== undefined && streams.length !== 1)
      throw new UsageError('--from-seq/--to-seq need exactly one stream');
    const selections: ReplaySelection[] = streams.map((stream) => ({
      stream,
      subject: values.subject as string | undefined,
      providerBatchId: values.batch as string | undefined,
      since: parseTime(values.since as string | undefined, 'since', now),
      until: parseTime(values.until as string | undefined, 'until', now),
      fromSeq,
      toSeq,
    }));
    const context = commandContext(false);
    await withBus(context, (bus) =>
      withSpan('replay', { attributes: { 'batchline.replay.streams': streams.join(',') } }, () =>
        replay(bus, selections, values['dry-run'] === true),
      ),
    );
  },
};
