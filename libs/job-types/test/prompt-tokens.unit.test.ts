import { countTokens } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { promptTokens } from '../src/prompt-tokens.ts';

describe('promptTokens', () => {
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
  it('counts an embedding input', () => {
    expect(promptTokens({ input: 'hello world' })).toBe(countTokens('hello world'));
  });
});
