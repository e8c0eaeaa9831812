import { badRequest } from './api-error.ts';
import { hash32, seededRandom } from './random.ts';
import { tokenEstimate } from './tokens.ts';

/** The vector length of OpenAI's embedding models when a request names no `dimensions`. */
const MODEL_DIMENSIONS: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};
const FALLBACK_DIMENSIONS = 1536;
/** OpenAI's ceiling on `dimensions` (text-embedding-3-large). */
export const MAX_DIMENSIONS = 3072;

export const defaultDimensions = (model: string): number => MODEL_DIMENSIONS[model] ?? FALLBACK_DIMENSIONS;

/**
 * The emulator's embedding of a text: a unit vector drawn from a generator seeded by the text (so equal texts
 * embed equally, run after run), each component to six significant digits so that it lands unchanged in a
 * `real[]` column and reads back as the same number.
 */
export function embeddingOf(text: string, dimensions: number): number[] {
  const random = seededRandom(hash32(text));
  const raw = Array.from({ length: dimensions }, () => random() * 2 - 1);
  const norm = Math.sqrt(raw.reduce((sum, x) => sum + x * x, 0)) || 1;
  return raw.map((x) => Number((x / norm).toPrecision(6)));
}

/** The texts of an embeddings request's `input`: a string, a list of strings, or token lists (embedded as text). */
export function embeddingInputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'number')) {
    return [JSON.stringify(input)];
  }
  if (Array.isArray(input))
    return input.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
  return [];
}

/** The dimensions a request asks for, or the model's; null when `dimensions` is not a usable number. */
export function requestedDimensions(body: Record<string, unknown>, model: string): number | null {
  const { dimensions } = body;
  if (dimensions === undefined || dimensions === null) return defaultDimensions(model);
  return typeof dimensions === 'number' &&
    Number.isInteger(dimensions) &&
    dimensions > 0 &&
    dimensions <= MAX_DIMENSIONS
    ? dimensions
    : null;
}

/** A response body of `POST /v1/embeddings` in OpenAI's shape; `base64` packs each vector as float32 little-endian. */
export function embeddingsResponseBody(options: {
  model: string;
  vectors: readonly number[][];
  promptTokens: number;
  encoding?: 'float' | 'base64';
}) {
  return {
    object: 'list' as const,
    data: options.vectors.map((vector, index) => ({
      object: 'embedding' as const,
      index,
      embedding:
        options.encoding === 'base64'
          ? Buffer.from(Float32Array.from(vector).buffer).toString('base64')
          : vector,
    })),
    model: options.model,
    usage: { prompt_tokens: options.promptTokens, total_tokens: options.promptTokens },
  };
}

/** `POST /v1/embeddings`: the same vectors a batch line gets, refused like OpenAI when the body is unusable. */
export function createEmbeddings(body: unknown): ReturnType<typeof embeddingsResponseBody> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object.');
  }
  const fields = body as Record<string, unknown>;
  if (typeof fields.model !== 'string') throw badRequest("Missing required parameter: 'model'.", 'model');
  const inputs = embeddingInputs(fields.input);
  if (inputs.length === 0) throw badRequest("'input' must be a non-empty string or array.", 'input');
  const dimensions = requestedDimensions(fields, fields.model);
  if (dimensions === null)
    throw badRequest(`Invalid 'dimensions': must be an integer from 1 to ${MAX_DIMENSIONS}.`, 'dimensions');
  const encoding = fields.encoding_format ?? 'float';
  if (encoding !== 'float' && encoding !== 'base64') {
    throw badRequest("Invalid 'encoding_format': must be 'float' or 'base64'.", 'encoding_format');
  }
  return embeddingsResponseBody({
    model: fields.model,
    vectors: inputs.map((text) => embeddingOf(text, dimensions)),
    promptTokens: inputs.reduce((sum, text) => sum + tokenEstimate(text), 0),
    encoding,
  });
}
