import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard is built into dashboard/dist by `npm run build -w @batchline/monitor` (the root `prepare`, so
// `npm ci`, runs it) and served by the monitor. esbuild's automatic JSX runtime is all React needs here.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
});
