import { countTokens } from 'gpt-tokenizer';

/** What a chat message adds around its content (role and separators), as OpenAI counts it. */
const TOKENS_PER_MESSAGE = 4;

/** Every string inside a value (message contents, content parts, embedding inputs). */
function textsOf(value: unknown, into: string[]): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) textsOf(item, into);
  else if (value !== null && typeof value === 'object')
    for (const item of Object.values(value)) textsOf(item, into);
  return into;
}

/**
 * The prompt tokens of one request line's body, estimated with the o200k tokenizer of current OpenAI models: its
 * messages (contents and per-message overhead) or its embedding input. What the provider counts against the
 * enqueued-token limit.
 */
export function promptTokens(body: Readonly<Record<string, unknown>>): number {
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : null;
  // A message's role is part of the per-message overhead; its content (a string or parts) is counted.
  const counted =
    messages === null ? (body.input ?? body.prompt ?? '') : messages.map((m) => m?.content ?? '');
  const texts = textsOf(counted, []);
  const overhead = messages === null ? 0 : messages.length * TOKENS_PER_MESSAGE + 3;
  return texts.reduce((sum, text) => sum + countTokens(text), overhead);
}
