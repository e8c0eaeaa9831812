import type { Queryable } from './pool.ts';

export interface Viewpoint {
  id: number;
  name: string;
}

/** Adds viewpoints to the catalogue, renaming the ones that exist; a repeated id counts once (the last wins). */
export async function upsertViewpoints(db: Queryable, viewpoints: readonly Viewpoint[]): Promise<number> {
  const byId = new Map(viewpoints.map((viewpoint) => [viewpoint.id, viewpoint.name]));
  if (byId.size === 0) return 0;
  const result = await db.query(
    `INSERT INTO wl_spec_vps (id, name)
     SELECT * FROM unnest($1::bigint[], $2::text[])
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`,
    [[...byId.keys()], [...byId.values()]],
  );
  return result.rowCount ?? 0;
}

export async function listViewpoints(db: Queryable): Promise<Viewpoint[]> {
  const { rows } = await db.query<{ id: string; name: string }>(
    'SELECT id, name FROM wl_spec_vps ORDER BY id',
  );
  return rows.map((row) => ({ id: Number(row.id), name: row.name }));
}
