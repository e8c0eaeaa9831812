import type { Queryable } from '@batchline/db';
import type { Catalogue } from '@batchline/job-types';

/**
 * The keys of a job type's catalogue (as text, as answers are checked against them), read once per fetch with
 * the job type's own query (its identifiers quoted when it was compiled). Empty for a job type without one.
 */
export async function loadCatalogueKeys(db: Queryable, catalogue: Catalogue | null): Promise<Set<string>> {
  if (catalogue === null) return new Set();
  const { rows } = await db.query<{ key: string }>(catalogue.selectSql);
  return new Set(rows.map((row) => row.key));
}
