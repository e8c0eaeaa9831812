import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compiledEntries, sourcesDigest } from '../bin/compiled.mjs';

/** The bin's choice between cli/dist/ and the sources, on a throw-away tree laid out like cli/. */
describe('compiledEntries', () => {
  let dir: string;
  let base: URL;
  const files = ['src/main.ts', '../libs/x/index.ts'];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'batchline-compiled-'));
    base = pathToFileURL(join(dir, 'cli/'));
    await mkdir(join(dir, 'cli/src'), { recursive: true });
    await mkdir(join(dir, 'cli/dist'), { recursive: true });
    await mkdir(join(dir, 'libs/x'), { recursive: true });
    await writeFile(join(dir, 'cli/src/main.ts'), 'export {};\n');
    await writeFile(join(dir, 'libs/x/index.ts'), 'export const x = 1;\n');
    await writeFile(
      join(dir, 'cli/dist/inputs.json'),
      JSON.stringify({ files, sha256: sourcesDigest(files, base) }),
    );
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('runs dist/ while every source it was built from is unchanged', () => {
    expect(compiledEntries(base)).toEqual({
      main: new URL('dist/main.js', base).href,
      telemetry: new URL('dist/telemetry.js', base).href,
    });
  });

  it('runs the sources once one of them changed, even to the same size', async () => {
    await writeFile(join(dir, 'libs/x/index.ts'), 'export const x = 2;\n');
    expect(compiledEntries(base)).toBeNull();
  });

  it('runs the sources when a source is gone, or there is no build', async () => {
    await rm(join(dir, 'cli/src/main.ts'));
    expect(compiledEntries(base)).toBeNull();
    await rm(join(dir, 'cli/dist'), { recursive: true });
    expect(compiledEntries(base)).toBeNull();
  });
});
