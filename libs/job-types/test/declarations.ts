import type { JobTypeDeclarationInput } from '../index.ts';

export { embeddingsDeclaration, entitiesDeclaration, sentimentDeclaration } from '@batchline/testing';

/**
 * A copy of a declaration with fields changed: `{'results.columns.label.from': 'x'}` sets a field (numbers index
 * lists), `undefined` removes it. Tests break declarations in ways their type would not allow.
 */
export function edited(base: () => JobTypeDeclarationInput, changes: Record<string, unknown>): unknown {
  const declaration = base() as unknown as Record<string, unknown>;
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split('.');
    const last = keys.pop()!;
    let parent = declaration;
    for (const key of keys) parent = parent[key] as Record<string, unknown>;
    if (value === undefined) delete parent[last];
    else parent[last] = value;
  }
  return declaration;
}
