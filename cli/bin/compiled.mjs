import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const CLI_DIR = new URL('../', import.meta.url);

/** One digest of the named source files (paths relative to `base`) and their contents; throws if one is missing. */
export function sourcesDigest(files, base = CLI_DIR) {
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(`${file}\0`)
      .update(readFileSync(new URL(file, base)))
      .update('\0');
  return hash.digest('hex');
}

/**
 * The entry points of `base`/dist/ while the source files it was compiled from are as they were then, or null: a
 * missing, partial or stale build runs the sources instead. Reading and hashing them takes a few milliseconds.
 */
export function compiledEntries(base = CLI_DIR) {
  const dist = new URL('dist/', base);
  try {
    const { files, sha256 } = JSON.parse(readFileSync(new URL('inputs.json', dist), 'utf8'));
    if (sourcesDigest(files, base) !== sha256) return null;
  } catch {
    return null;
  }
  return { main: new URL('main.js', dist).href, telemetry: new URL('telemetry.js', dist).href };
}
