import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { assertDashboardBuilt } from '../dashboard-assets.ts';

export interface DashboardOptions {
  /** The built dashboard: `index.html` and `assets/`. */
  root: string;
}

/** The dashboard at `/`; refuses to start when it was never built. */
export async function dashboardPlugin(app: FastifyInstance, { root }: DashboardOptions): Promise<void> {
  await assertDashboardBuilt(root);
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: 'index.html',
    wildcard: true,
    // Built assets carry a content hash in their names; the page itself must always be fetched anew.
    setHeaders: (response, path) => {
      response.setHeader(
        'cache-control',
        path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
      );
    },
  });
}
