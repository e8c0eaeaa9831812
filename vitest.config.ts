import { defineConfig } from 'vitest/config';

// Unit tests are pure and fast; integration and end-to-end tests talk to the real local Postgres and NATS.
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'libs/*/test/**/*.unit.test.ts',
            'tools/*/test/**/*.unit.test.ts',
            'services/*/test/**/*.unit.test.ts',
            'cli/test/**/*.unit.test.ts',
            'test/*.unit.test.ts',
          ],
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            'libs/*/test/**/*.int.test.ts',
            'tools/*/test/**/*.int.test.ts',
            'services/*/test/**/*.int.test.ts',
            'cli/test/**/*.int.test.ts',
          ],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          testTimeout: 240_000,
          hookTimeout: 120_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
