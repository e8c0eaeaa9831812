import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The deployment checks alone (deploy/check.sh); the root config runs them too once its integration project
// includes deploy/test. Same global setup: the image-layout test needs the real Postgres and NATS.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    name: 'deploy',
    include: ['deploy/test/**/*.int.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
