/** RFC 6901 JSON pointers over parsed JSON (`/items/0/name`); the schema has already checked their syntax. */

/** `/a~1b/0` → `['a/b', '0']`; `` → `[]`. */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * The value `tokens` point at, or undefined when there is none. Only own properties count, so that an answer can
 * never reach `constructor` or `__proto__` of the object it was parsed into.
 */
export function resolvePointer(value: unknown, tokens: readonly string[]): unknown {
  let current = value;
  for (const token of tokens) {
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(token)) return undefined;
      current = current[Number(token)];
    } else if (current !== null && typeof current === 'object') {
      if (!Object.hasOwn(current, token)) return undefined;
      current = (current as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return current;
}

/** `['a/b', '0']` → `/a~1b/0`: a location in an answer, for error messages. */
export const pointerOf = (tokens: readonly (string | number)[]): string =>
  tokens.map((token) => `/${String(token).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
