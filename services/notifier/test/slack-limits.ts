import { expect } from 'vitest';
import { SLACK_LIMITS, type SlackMessage } from '../src/messages/slack-message.ts';

/** Fails when a message breaks one of Slack's Block Kit limits (Slack would answer `invalid_blocks`). */
export function expectWithinSlackLimits(message: SlackMessage): void {
  expect(message.text.length).toBeGreaterThan(0);
  expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.text);
  expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  for (const block of message.blocks) {
    const text = (block.text as { text?: string } | undefined)?.text ?? '';
    if (block.type === 'header') expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    if (block.type === 'section') {
      expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      const fields = (block.fields as { text: string }[] | undefined) ?? [];
      expect(fields.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldsPerSection);
      for (const field of fields) expect(field.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
    }
    if (block.type === 'context') {
      for (const element of block.elements as { text: string }[]) {
        expect(element.text.length).toBeLessThanOrEqual(SLACK_LIMITS.contextText);
      }
    }
  }
}
