import type { FastifyInstance } from 'fastify';
import { openApiDocument } from '../openapi/document.ts';
import { openApiPage } from '../openapi/page.ts';

export interface ApiDocsOptions {
  /** Where the admin API is mounted. */
  adminPrefix: string;
}

/**
 * The admin API's description, open to read without a token (it holds no data): `/api/docs/openapi.json` and the
 * same as a page at `/api/docs`. Generated once at start from the route schemas.
 */
export async function apiDocsPlugin(app: FastifyInstance, { adminPrefix }: ApiDocsOptions): Promise<void> {
  const document = openApiDocument(adminPrefix);
  const page = openApiPage(document);
  app.get('/api/docs/openapi.json', async (_request, reply) => reply.type('application/json').send(document));
  app.get('/api/docs', async (_request, reply) => reply.type('text/html; charset=utf-8').send(page));
}
