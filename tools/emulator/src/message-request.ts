import type { BatchRequestLine } from './types.ts';

/** The URL the emulator files an Anthropic Messages request under, so that the planner answers it as chat. */
export const MESSAGES_URL = '/v1/messages';

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * An Anthropic Message Batch request in the chat-completions shape the planner answers: the `system` prompt
 * becomes a system message; `tools` stay, so that a request forcing the `answer` tool gets a `tool_use` answer.
 */
export function messageRequestAsLine(customId: string, params: Record<string, unknown>): BatchRequestLine {
  const system =
    typeof params.system === 'string'
      ? params.system
      : Array.isArray(params.system)
        ? params.system.map((block) => (isObject(block) ? String(block.text ?? '') : '')).join('\n')
        : null;
  const messages = Array.isArray(params.messages) ? params.messages : [];
  return {
    custom_id: customId,
    method: 'POST',
    url: MESSAGES_URL,
    body: {
      model: params.model,
      messages: [...(system === null ? [] : [{ role: 'system', content: system }]), ...messages],
      ...(params.tools === undefined ? {} : { tools: params.tools }),
    },
  };
}
