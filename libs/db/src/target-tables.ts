import {
  type ExistingTable,
  type JobType,
  JobTypeError,
  type TargetTable,
  targetTableDdl,
  targetTableProblems,
} from '@batchline/job-types';
import { DbError } from './errors.ts';
import { type Queryable, type TransactionSource, withTransaction } from './pool.ts';

/** What Postgres has under a target table's name; `kind` is pg_class.relkind (`r` table, `p` partitioned, `v` view…). */
export interface ExistingRelation extends ExistingTable {
  kind: string;
}

/**
 * Reads what Postgres knows of `quotedName` (`"schema"."table"` or `"table"`, resolved on the search path):
 * its columns with their types as `format_type` prints them, and the column lists of its unique indexes — unique
 * constraints and the primary key included. Partial and expression indexes are left out: `ON CONFLICT (key)`
 * cannot use them. Null when no relation has that name.
 */
export async function readExistingTable(db: Queryable, quotedName: string): Promise<ExistingRelation | null> {
  const relation = await db.query<{ oid: number; kind: string }>(
    `SELECT c.oid::int8 AS oid, c.relkind AS kind FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [quotedName],
  );
  const found = relation.rows[0];
  if (!found) return null;
  const columns = await db.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type
     FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [found.oid],
  );
  const uniqueKeys = await db.query<{ columns: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.position) AS columns
     FROM pg_index i
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
     GROUP BY i.indexrelid ORDER BY i.indexrelid`,
    [found.oid],
  );
  return {
    kind: found.kind,
    columns: new Map(columns.rows.map((row) => [row.name, row.type])),
    uniqueKeys: uniqueKeys.rows.map((row) => row.columns),
  };
}

/** Why the relation named like a target table cannot take its rows; empty when it can. */
function problemsOf(target: TargetTable, existing: ExistingRelation): string[] {
  if (existing.kind !== 'r' && existing.kind !== 'p')
    return [`${target.name} is not a table (a view or other relation)`];
  return targetTableProblems(target, existing);
}

/** Serialises concurrent `batchline migrate` runs over the target tables (any fixed number works). */
const TARGET_TABLES_LOCK_ID = 4_201_870_002;

export interface TargetTableOutcome {
  jobType: string;
  table: string;
  created: boolean;
}

/**
 * Creates the target table of each job type that has none yet and checks each existing one, in one transaction:
 * either every table is there and fits its job type afterwards, or nothing changed. An existing table is never
 * altered — a missing column, a wrong type or a missing unique key is a JobTypeError `target_table_mismatch` naming
 * the job type, the table and each problem.
 */
export async function ensureTargetTables(
  db: TransactionSource,
  jobTypes: readonly JobType[],
): Promise<TargetTableOutcome[]> {
  return withTransaction(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [TARGET_TABLES_LOCK_ID]);
    const outcomes: TargetTableOutcome[] = [];
    for (const jobType of jobTypes) {
      const { target } = jobType;
      const existing = await readExistingTable(tx, target.quoted);
      if (existing) {
        const problems = problemsOf(target, existing);
        if (problems.length > 0) {
          throw new JobTypeError(
            'target_table_mismatch',
            `job type ${jobType.name} (${jobType.source}): table ${target.name} cannot take its rows: ${problems.map((problem) => problem.replace(/\.$/, '')).join('; ')}. batchline never alters an existing table: fix the table or the declaration`,
          );
        }
        outcomes.push({ jobType: jobType.name, table: target.name, created: false });
        continue;
      }
      for (const statement of targetTableDdl(target)) {
        await tx.query(statement).catch((error: unknown) => {
          throw new DbError(
            'migration_failed',
            `job type ${jobType.name} (${jobType.source}): cannot create table ${target.name}: ${(error as Error).message}`,
            { cause: error },
          );
        });
      }
      outcomes.push({ jobType: jobType.name, table: target.name, created: true });
    }
    return outcomes;
  });
}
