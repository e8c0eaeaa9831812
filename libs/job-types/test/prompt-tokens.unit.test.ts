import { countTokens } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { PromptTokenCounter } from '../src/prompt-tokens.ts';

const counter = new PromptTokenCounter();
const promptTokens = (body: Record<string, unknown>) => counter.count(body);

describe('PromptTokenCounter', () => {
  it('counts message contents with the tokenizer, plus the per-message overhead', () => {
    const body = {
      messages: [
        { role: 'system', content: 'Classify.' },
        { role: 'user', content: 'The screen is sharp.' },
      ],
    };
    expect(promptTokens(body)).toBe(
      countTokens('Classify.') + countTokens('The screen is sharp.') + 2 * 4 + 3,
    );
  });
  it('counts a remembered instruction the same as a new one', () => {
    const body = (text: string) => ({
      messages: [
        { role: 'system', content: 'Classify the sentence.' },
        { role: 'user', content: text },
      ],
    });
    expect(promptTokens(body('One.'))).toBe(new PromptTokenCounter().count(body('One.')));
    expect(promptTokens(body('Two more words.'))).toBe(
      new PromptTokenCounter().count(body('Two more words.')),
    );
  });
  it('counts an embedding input', () => {
    expect(promptTokens({ input: 'hello world' })).toBe(countTokens('hello world'));
  });
});
