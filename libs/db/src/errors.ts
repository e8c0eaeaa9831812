/** Why a database operation of ours refused to go on; callers branch on `code`. */
export type DbErrorCode =
  | 'migration_checksum_mismatch'
  | 'migration_failed'
  | 'batch_not_found'
  | 'job_not_found'
  | 'job_type_unknown'
  | 'export_table_missing';

export class DbError extends Error {
  override readonly name = 'DbError';
  constructor(
    readonly code: DbErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Postgres SQLSTATE codes we react to. */
export const PgErrorCode = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
} as const;

/** The SQLSTATE of an error raised by the server, if it is one. */
export function pgErrorCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
