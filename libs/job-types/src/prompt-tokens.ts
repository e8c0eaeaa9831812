import { countTokens } from 'gpt-tokenizer';

/** What a chat message adds around its content (role and separators), as OpenAI counts it. */
const TOKENS_PER_MESSAGE = 4;
/** Instruction texts whose counts are kept: a few per job type and catalogue; beyond it the memory starts over. */
const MAX_REMEMBERED_INSTRUCTIONS = 256;

/** Every string inside a value (message contents, content parts, embedding inputs). */
function textsOf(value: unknown, into: string[]): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) textsOf(item, into);
  else if (value !== null && typeof value === 'object')
    for (const item of Object.values(value)) textsOf(item, into);
  return into;
}

const contentTokens = (content: unknown): number =>
  textsOf(content, []).reduce((sum, text) => sum + countTokens(text), 0);

/**
 * Counts prompt tokens with the o200k tokenizer of current OpenAI models. A job type's system (or developer)
 * message is the same in every one of its requests: its count is remembered rather than tokenized again for
 * each request (most of the tokenizer's time at intake went there). The other texts are counted each time.
 */
export class PromptTokenCounter {
  private readonly instructions = new Map<string, number>();

  /**
   * The prompt tokens of one request line's body: its messages (contents and per-message overhead) or its
   * embedding input. What the provider counts against the enqueued-token limit.
   */
  count(body: Readonly<Record<string, unknown>>): number {
    if (!Array.isArray(body.messages)) return contentTokens(body.input ?? body.prompt ?? '');
    const messages = body.messages as { role?: unknown; content?: unknown }[];
    // A message's role is part of the per-message overhead; its content (a string or parts) is counted.
    let tokens = messages.length * TOKENS_PER_MESSAGE + 3;
    for (const message of messages) {
      const content = message?.content ?? '';
      const isInstruction =
        (message?.role === 'system' || message?.role === 'developer') && typeof content === 'string';
      tokens += isInstruction ? this.instructionTokens(content) : contentTokens(content);
    }
    return tokens;
  }

  private instructionTokens(text: string): number {
    let tokens = this.instructions.get(text);
    if (tokens === undefined) {
      if (this.instructions.size >= MAX_REMEMBERED_INSTRUCTIONS) this.instructions.clear();
      tokens = countTokens(text);
      this.instructions.set(text, tokens);
    }
    return tokens;
  }
}
