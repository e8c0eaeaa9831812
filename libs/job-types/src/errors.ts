/** Why a job type could not be used; `code` is stable for scripts and tests. */
export type JobTypeErrorCode =
  /** A declaration does not validate (names the file, the job type and the field). */
  | 'invalid_declaration'
  /** A declaration file or folder cannot be read or parsed. */
  | 'unreadable_declaration'
  /** Two declarations share a name. */
  | 'duplicate_job_type'
  /** `--job-type` or a batch log names a job type that is not declared. */
  | 'unknown_job_type'
  /** A declared target table exists but cannot take the job type's rows (missing column, key or type). */
  | 'target_table_mismatch'
  /** A job type's catalogue table is missing or empty, so no request line can be built. */
  | 'catalogue_unavailable';

export class JobTypeError extends Error {
  override readonly name = 'JobTypeError';
  constructor(
    readonly code: JobTypeErrorCode,
    message: string,
  ) {
    super(message);
  }
}
