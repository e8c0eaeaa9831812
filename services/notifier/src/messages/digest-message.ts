import type { DigestEntry } from '../store/digest.ts';
import { FINAL_SEVERITY } from './final-message.ts';
import {
  context,
  escapeMrkdwn,
  header,
  humanDuration,
  SLACK_LIMITS,
  type SlackBlock,
  type SlackMessage,
  section,
} from './slack-message.ts';

/**
 * Most entries one digest lists: each entry line is at most a few hundred characters, so with one section per
 * group of lines this stays well inside Slack's 50 blocks and 40,000 characters of text.
 */
export const DIGEST_MAX_ENTRIES = 40;

/** Entry lines per section: a section holds 3,000 characters. */
const LINES_PER_SECTION = 8;

export interface DigestSettings {
  threshold: number;
  windowMs: number;
}

/**
 * One message listing many final statuses. Its text holds each batch's own final line (provider batch id,
 * `completed`/`failed`, counts), so each batch still has exactly one message naming it (docs/interface.md §5).
 */
export function digestMessage(entries: readonly DigestEntry[], settings: DigestSettings): SlackMessage {
  const completed = (entry: DigestEntry) => entry.severity === FINAL_SEVERITY.completed;
  const completedCount = entries.filter(completed).length;
  const summary = `${entries.length} batches finished (${completedCount} completed, ${entries.length - completedCount} failed)`;
  const lines = entries.map((entry) => `${completed(entry) ? '✅' : '❌'} ${escapeMrkdwn(entry.text)}`);
  const sections: SlackBlock[] = [];
  for (let i = 0; i < lines.length; i += LINES_PER_SECTION) {
    sections.push(section(lines.slice(i, i + LINES_PER_SECTION).join('\n')));
  }
  return {
    text: `Digest: ${summary}:\n${entries.map((entry) => escapeMrkdwn(entry.text)).join('\n')}`.slice(
      0,
      SLACK_LIMITS.text,
    ),
    blocks: [
      header(`📦 ${summary}`),
      ...sections,
      context(
        `Sent as one digest because more than ${settings.threshold} final-status messages were due within ${humanDuration(settings.windowMs)}. Details of each batch: \`batchline status <batch log>\` or the dashboard.`,
      ),
    ],
  };
}
