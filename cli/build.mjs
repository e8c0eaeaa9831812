#!/usr/bin/env node
// Compiles the CLI and every service it runs into cli/dist/ ahead of time (run by the root `prepare`, so by
// `npm ci`): the services then start without tsx, whose loader and source maps cost each process about 60 MiB and
// its keep-names helpers a share of the CPU. Only the workspace's TypeScript is bundled; npm packages stay
// imports, so OpenTelemetry can instrument them as usual. cli/bin/batchline.mjs runs dist/ only while the
// source files it was built from hash as they did (dist/inputs.json), and the sources through tsx otherwise.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { sourcesDigest } from './bin/compiled.mjs';

const cliDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(cliDir);
const distDir = join(cliDir, 'dist');
const buildDir = join(cliDir, `dist.building-${process.pid}`);

/** npm packages are imported at run time; only `@batchline/*` (the workspace) is bundled. */
const externalPackages = {
  name: 'external-packages',
  setup(context) {
    context.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@batchline/') ? undefined : { path: args.path, external: true },
    );
  },
};

/**
 * `import.meta.url` keeps meaning the source file's own URL (the migrations, the dashboard and the service
 * entry point are found next to their sources), relative to the chunk it lands in so that the tree can move.
 */
const sourceFileUrls = {
  name: 'source-file-urls',
  setup(context) {
    context.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const fromDist = relative(distDir, args.path).split('\\').join('/');
      return {
        contents: source.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(fromDist)}, import.meta.url).href`,
        ),
        loader: 'ts',
      };
    });
  },
};

const result = await build({
  entryPoints: {
    main: join(cliDir, 'src/main.ts'),
    telemetry: join(repoRoot, 'libs/telemetry/index.ts'),
  },
  outdir: buildDir,
  absWorkingDir: repoRoot,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  metafile: true,
  plugins: [externalPackages, sourceFileUrls],
  logLevel: 'warning',
});

const files = Object.keys(result.metafile.inputs).map((input) => relative(cliDir, join(repoRoot, input)));
const inputs = { files, sha256: sourcesDigest(files) };
await writeFile(join(buildDir, 'inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);
// Replaced whole: a process starting meanwhile finds no dist/ and runs the sources.
await rm(distDir, { recursive: true, force: true });
await rename(buildDir, distDir);
console.log(`batchline: compiled ${files.length} source files into ${relative(repoRoot, distDir)}/`);
