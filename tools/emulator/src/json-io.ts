import type { IncomingMessage, ServerResponse } from 'node:http';
import { AnthropicApiError, badRequest } from './api-error.ts';

const MAX_JSON_BODY_BYTES = 1024 * 1024;

/** A request's JSON body, refused (OpenAI's or Anthropic's way) when too large or not JSON. */
export async function readJson(
  req: IncomingMessage,
  maxBytes = MAX_JSON_BODY_BYTES,
  anthropic = false,
): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      throw anthropic
        ? new AnthropicApiError(413, 'Request exceeds the maximum allowed number of bytes.')
        : badRequest('The request body is too large.');
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw anthropic
      ? new AnthropicApiError(400, 'The request body is not valid JSON.')
      : badRequest('We could not parse the JSON body of your request.');
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}
