/** A Slack message: the plain `text` (notifications, screen readers, scripts) and the Block Kit `blocks`. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

export type SlackBlock = Record<string, unknown>;

/**
 * Slack's limits (api.slack.com/reference/block-kit): a header's text, a section's text, a field, the fields of
 * one section, the blocks of one message; beyond `text` Slack truncates.
 */
export const SLACK_LIMITS = {
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  fieldsPerSection: 10,
  contextText: 2000,
  blocks: 50,
  text: 40_000,
} as const;

/** Shortens `text` to `max` characters, marking the cut. */
export const clip = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/**
 * Escapes the three characters Slack's mrkdwn treats as control characters, for text that comes from outside
 * (provider error messages, alert texts), so that it cannot ping a channel or forge a link.
 */
export const escapeMrkdwn = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const header = (text: string): SlackBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: clip(text, SLACK_LIMITS.headerText), emoji: true },
});

export const section = (mrkdwn: string): SlackBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: clip(mrkdwn, SLACK_LIMITS.sectionText) },
});

/** A section of label/value fields shown in two columns (at most ten). */
export const fieldsSection = (fields: readonly (readonly [label: string, value: string])[]): SlackBlock => ({
  type: 'section',
  fields: fields.slice(0, SLACK_LIMITS.fieldsPerSection).map(([label, value]) => ({
    type: 'mrkdwn',
    text: clip(`*${label}*\n${value}`, SLACK_LIMITS.fieldText),
  })),
});

export const context = (mrkdwn: string): SlackBlock => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: clip(mrkdwn, SLACK_LIMITS.contextText) }],
});

/** Milliseconds for people: `850 ms`, `42 s`, `12 min 5 s`, `3 h 20 min`, `2 d 4 h`. */
export function humanDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

export const percent = (part: number, whole: number): string =>
  whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(1)} %`;

/** How a message that may already have been posted says so, at the end of its text and blocks. */
export const POSSIBLE_REPEAT_NOTE =
  'Possible repeat: the notifier was interrupted while posting this message, so it may already be above.';

export function markPossibleRepeat(message: SlackMessage): SlackMessage {
  const note = context(`:repeat: ${POSSIBLE_REPEAT_NOTE}`);
  return {
    text: `${message.text} (${POSSIBLE_REPEAT_NOTE})`,
    blocks:
      message.blocks.length < SLACK_LIMITS.blocks
        ? [...message.blocks, note]
        : [...message.blocks.slice(0, SLACK_LIMITS.blocks - 1), note],
  };
}
