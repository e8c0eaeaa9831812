import { customIdFor } from './custom-id.ts';

export interface Viewpoint {
  id: number;
  name: string;
}

/** The chat-completions endpoint that every `specific_viewpoint` request targets. */
export const CHAT_COMPLETIONS_URL = '/v1/chat/completions';

/**
 * The system prompt: the catalogue one viewpoint a line as `<id>: <name>`, then the answer format (docs/interface.md §4).
 * Kept stable — the emulator's classifier reads the catalogue back from these lines.
 */
export function viewpointSystemPrompt(catalogue: readonly Viewpoint[]): string {
  const lines = catalogue.map((vp) => `${vp.id}: ${vp.name.replace(/\s+/g, ' ').trim()}`);
  return [
    'You classify one customer review sentence into the specific viewpoints it expresses.',
    'Viewpoints (id: name):',
    ...lines,
    'Answer with JSON only, exactly of the form {"viewpoint_ids": [<id>, ...]}; use [] when none applies.',
  ].join('\n');
}

/** Reads the catalogue back out of a system prompt built by `viewpointSystemPrompt`. */
export function viewpointsFromSystemPrompt(prompt: string): Viewpoint[] {
  const out: Viewpoint[] = [];
  for (const line of prompt.split('\n')) {
    const match = /^(\d+): (.+)$/.exec(line);
    if (match) out.push({ id: Number(match[1]), name: match[2]! });
  }
  return out;
}

/** One line of an OpenAI batch input file for a review sentence. */
export function openAIRequestLine(options: {
  reviewSentenceId: number;
  text: string;
  model: string;
  systemPrompt: string;
}): Record<string, unknown> {
  return {
    custom_id: customIdFor(options.reviewSentenceId),
    method: 'POST',
    url: CHAT_COMPLETIONS_URL,
    body: {
      model: options.model,
      temperature: 0,
      response_format: { type: 'json_object' },
      messages: [
        { role: 'system', content: options.systemPrompt },
        { role: 'user', content: options.text },
      ],
    },
  };
}

/** Most tokens an answer may take: an answer is a short list of ids. */
const ANTHROPIC_MAX_TOKENS = 1024;

/** One request of an Anthropic Message Batch for a review sentence (`{custom_id, params}`). */
export function anthropicRequestLine(options: {
  reviewSentenceId: number;
  text: string;
  model: string;
  systemPrompt: string;
}): Record<string, unknown> {
  return {
    custom_id: customIdFor(options.reviewSentenceId),
    params: {
      model: options.model,
      max_tokens: ANTHROPIC_MAX_TOKENS,
      temperature: 0,
      system: options.systemPrompt,
      messages: [{ role: 'user', content: options.text }],
    },
  };
}
