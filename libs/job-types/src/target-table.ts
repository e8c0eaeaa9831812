import type { TargetTable } from './job-type.ts';

/** What Postgres says about an existing table (information_schema / pg_index), as libs/db reads it. */
export interface ExistingTable {
  /** Column name → its type as `format_type` prints it (`bigint`, `real[]`, `double precision`, …). */
  columns: ReadonlyMap<string, string>;
  /** The column lists of its unique indexes and constraints (the primary key included). */
  uniqueKeys: readonly (readonly string[])[];
}

/**
 * The statements that create a missing target table: the declared columns, `batch_log_id bigint`, `created_at`,
 * the unique key and an index on `batch_log_id`; identifiers quoted.
 */
export function targetTableDdl(target: TargetTable): string[] {
  throw new Error(`jt-core: targetTableDdl(${target.name}) not implemented yet`);
}

/** Why an existing table cannot take the job type's rows, one readable sentence each; empty when it can. */
export function targetTableProblems(target: TargetTable, existing: ExistingTable): string[] {
  throw new Error(
    `jt-core: targetTableProblems(${target.name}, ${existing.columns.size}) not implemented yet`,
  );
}
