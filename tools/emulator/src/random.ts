/**
 * A 32-bit hash of a text: FNV-1a, then murmur3's finaliser, without which texts that differ in their last
 * characters (`sent-1`, `sent-2`, ...) would share their high bits. Cheap and stable across runs, for per-request
 * seeds and draws.
 */
export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** A hash of a text as a number in [0, 1): the same text always draws the same number. */
export const unitHash = (text: string): number => hash32(text) / 4294967296;

/** A seeded generator of numbers in [0, 1) (mulberry32): the same seed yields the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
