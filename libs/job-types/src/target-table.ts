import type { TargetTable } from './job-type.ts';
import { quoteIdentifier, unqualifiedName } from './sql-identifier.ts';

/** What Postgres says about an existing table (information_schema / pg_index), as libs/db reads it. */
export interface ExistingTable {
  /** Column name → its type as `format_type` prints it (`bigint`, `real[]`, `double precision`, …). */
  columns: ReadonlyMap<string, string>;
  /** The column lists of its unique indexes and constraints (the primary key included). */
  uniqueKeys: readonly (readonly string[])[];
}

/** The columns batchline fills in every target table, as `format_type` prints their types. */
const BATCHLINE_COLUMNS = [
  { name: 'batch_log_id', ddl: 'bigint NOT NULL', type: 'bigint' },
  { name: 'created_at', ddl: 'timestamptz NOT NULL DEFAULT now()', type: 'timestamp with time zone' },
] as const;
/** Postgres cuts identifiers at 63 bytes; the index name keeps its suffix. */
const MAX_IDENTIFIER = 63;
const INDEX_SUFFIX = '_batch_idx';

const indexName = (target: TargetTable): string =>
  `${unqualifiedName(target.name).slice(0, MAX_IDENTIFIER - INDEX_SUFFIX.length)}${INDEX_SUFFIX}`;

const columnList = (names: readonly string[]): string => names.map(quoteIdentifier).join(', ');

/**
 * The statements that create a missing target table: the declared columns (`$id` ones first), `batch_log_id bigint`, `created_at`,
 * the unique key and an index on `batch_log_id`; identifiers quoted. Each is safe to run again.
 */
export function targetTableDdl(target: TargetTable): string[] {
  const statements: string[] = [];
  if (target.name.includes('.')) {
    statements.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(target.name.split('.')[0]!)}`);
  }
  const columns = [...target.idColumns, ...target.valueColumns].map(
    (column) => `  ${column.quoted} ${column.type}${column.inKey ? ' NOT NULL' : ''}`,
  );
  const definitions = [
    ...columns,
    ...BATCHLINE_COLUMNS.map((column) => `  ${quoteIdentifier(column.name)} ${column.ddl}`),
    `  UNIQUE (${columnList(target.key)})`,
  ];
  statements.push(`CREATE TABLE IF NOT EXISTS ${target.quoted} (\n${definitions.join(',\n')}\n)`);
  statements.push(
    `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(indexName(target))} ON ${target.quoted} (${quoteIdentifier('batch_log_id')})`,
  );
  return statements;
}

/** `numeric(12,2)` is a numeric column too; every other type must be the declared one. */
const sameType = (declared: string, existing: string): boolean =>
  existing === declared || (declared === 'numeric' && existing.startsWith('numeric('));

/** Why an existing table cannot take the job type's rows, one readable sentence each; empty when it can. */
export function targetTableProblems(target: TargetTable, existing: ExistingTable): string[] {
  const problems: string[] = [];
  const expected = [
    ...[...target.idColumns, ...target.valueColumns].map((column) => ({
      name: column.name,
      type: column.type,
    })),
    ...BATCHLINE_COLUMNS,
  ];
  for (const { name, type } of expected) {
    const actual = existing.columns.get(name);
    if (actual === undefined) {
      problems.push(`Table ${target.name} has no column ${name} (${type}).`);
    } else if (!sameType(type, actual)) {
      problems.push(`Column ${name} of table ${target.name} is ${actual}, but the job type needs ${type}.`);
    }
  }
  const key = new Set(target.key);
  const hasKey = existing.uniqueKeys.some(
    (columns) => columns.length === key.size && columns.every((column) => key.has(column)),
  );
  if (!hasKey) {
    const found = existing.uniqueKeys.map((columns) => `(${columns.join(', ')})`).join(', ');
    problems.push(
      `Table ${target.name} has no unique key over exactly (${target.key.join(', ')}), which results.key needs so that each row lands once${found ? `; its unique keys: ${found}` : ''}.`,
    );
  }
  return problems;
}
