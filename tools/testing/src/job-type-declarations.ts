import type { JobTypeDeclarationInput } from '@batchline/job-types';

/**
 * The job type declarations tests start from: contract §8's `review_sentiment` (chat, catalogue), an embeddings one
 * and an entities one (one row per answer element, `results.each`). Each call returns a fresh plain object, so a test
 * may vary a field with a spread or edit it in place.
 */

type Request = JobTypeDeclarationInput['request'];
/** A declaration whose request is known to be a chat one (or an embeddings one), so tests can read its fields. */
export type ChatDeclaration = JobTypeDeclarationInput & {
  request: Extract<Request, { endpoint: '/v1/chat/completions' }>;
};
export type EmbeddingsDeclaration = JobTypeDeclarationInput & {
  request: Extract<Request, { endpoint: '/v1/embeddings' }>;
};

export function sentimentDeclaration(): ChatDeclaration {
  return {
    name: 'review_sentiment',
    input: { id: 'review_id', fields: ['text'] },
    customIdPrefix: 'sent',
    request: {
      endpoint: '/v1/chat/completions',
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Label the sentiment of the review. Labels:\n{{catalogue}}' },
        { role: 'user', content: '{{text}}' },
      ],
      responseSchema: {
        type: 'object',
        additionalProperties: false,
        required: ['label', 'score'],
        properties: { label: { type: 'string' }, score: { type: 'number', minimum: 0, maximum: 1 } },
      },
    },
    catalogue: { table: 'sentiment_labels', key: 'name', label: 'description' },
    results: {
      table: 'review_sentiments',
      columns: {
        review_id: { from: '$id', type: 'bigint' },
        label: { from: '/label', type: 'text', references: 'catalogue', errorCode: 'unknown_label' },
        score: { from: '/score', type: 'double precision' },
      },
      key: ['review_id'],
    },
  };
}

export function embeddingsDeclaration(): EmbeddingsDeclaration {
  return {
    name: 'review_embeddings',
    input: { id: 'doc_id', fields: ['text'] },
    customIdPrefix: 'emb',
    request: {
      endpoint: '/v1/embeddings',
      model: 'text-embedding-3-small',
      input: '{{text}}',
      dimensions: 4,
    },
    results: {
      table: 'review_embeddings',
      columns: { doc_id: { from: '$id', type: 'text' }, embedding: { from: '$embedding', type: 'real[]' } },
      key: ['doc_id'],
    },
  };
}

/** A declaration whose answer is a list of entities, one row each (`results.each`). */
export function entitiesDeclaration(): ChatDeclaration {
  return {
    name: 'entities',
    input: { id: 'doc_id', fields: ['text'] },
    customIdPrefix: 'ent',
    request: {
      endpoint: '/v1/chat/completions',
      messages: [{ role: 'user', content: 'Entities of document {{doc_id}}:\n{{text}}' }],
      responseSchema: {
        type: 'object',
        additionalProperties: false,
        required: ['entities'],
        properties: {
          entities: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'kind'],
              properties: {
                name: { type: 'string' },
                kind: { type: 'string', enum: ['person', 'place'] },
                confidence: { type: 'number' },
                meta: { type: 'object' },
              },
            },
          },
        },
      },
    },
    results: {
      table: 'analytics.document_entities',
      each: '/entities',
      columns: {
        doc_id: { from: '$id', type: 'bigint' },
        name: { from: '$item/name', type: 'text' },
        kind: { from: '$item/kind', type: 'text' },
        confidence: { from: '$item/confidence', type: 'real' },
        meta: { from: '$item/meta', type: 'jsonb' },
      },
      key: ['doc_id', 'name'],
    },
  };
}
