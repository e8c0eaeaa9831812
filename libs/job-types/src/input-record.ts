import { JobTypeError } from './errors.ts';
import type { CatalogueEntry, InputRecord, JobType } from './job-type.ts';
import type { JobTypeSet } from './registry.ts';

const INTEGER_TYPES: ReadonlySet<string> = new Set(['bigint', 'integer', 'smallint']);

/** What a valid `input.id` is, for the message that refuses one (contract §8). */
function idRule(jobType: JobType): string {
  return jobType.target.idColumns.every((column) => INTEGER_TYPES.has(column.type))
    ? 'a positive integer'
    : 'a string of 1-64 characters from A-Z a-z 0-9 _ . -';
}

/**
 * One request of a job type from its id and its input fields (a `submit` line, an enqueued request), or why it is
 * not one: the message names the field (`"text" must be a non-empty string`).
 */
export function checkInputRecord(
  jobType: JobType,
  id: unknown,
  values: Readonly<Record<string, unknown>>,
): { record: InputRecord } | { problem: string } {
  const { id: idField, fields } = jobType.declaration.input;
  const parsedId = jobType.parseInputId(id);
  if (parsedId === null) return { problem: `"${idField}" must be ${idRule(jobType)}` };
  const missing = fields.find((field) => typeof values[field] !== 'string' || values[field].trim() === '');
  if (missing !== undefined) return { problem: `"${missing}" must be a non-empty string` };
  return {
    record: {
      id: parsedId,
      fields: Object.fromEntries(fields.map((field) => [field, values[field] as string])),
    },
  };
}

/** A request id read back from text (as stored beside other job types' ids) in the job type's own id kind. */
export const requestIdFromText = (jobType: JobType, text: string) =>
  jobType.parseCustomId(jobType.customIdFor(text));

/** SQLSTATE undefined_table. */
const UNDEFINED_TABLE = '42P01';

/** Anything that runs a query (a pg pool or client). */
interface CatalogueReader {
  query<R>(sql: string): Promise<{ rows: R[] }>;
}

/**
 * The job type's catalogue, read once per set of request lines; a job type without one has none. A missing or
 * empty catalogue table is a `catalogue_unavailable` error naming the table.
 */
export async function loadCatalogue(db: CatalogueReader, jobType: JobType): Promise<CatalogueEntry[]> {
  const { catalogue } = jobType;
  if (catalogue === null) return [];
  const { rows } = await db.query<CatalogueEntry>(catalogue.selectSql).catch((error: unknown) => {
    throw new JobTypeError(
      'catalogue_unavailable',
      (error as { code?: string }).code === UNDEFINED_TABLE
        ? `${catalogue.table}, the catalogue of job type ${jobType.name}, does not exist: create and fill it before submitting`
        : `cannot read ${catalogue.table}, the catalogue of job type ${jobType.name}: ${(error as Error).message}`,
    );
  });
  if (rows.length === 0) {
    throw new JobTypeError(
      'catalogue_unavailable',
      `${catalogue.table} is empty: fill the catalogue of job type ${jobType.name} before submitting`,
    );
  }
  return rows;
}

/**
 * An enqueued request checked against its job type (the batcher's intake and the monitor's `POST
 * /api/admin/requests` both refuse with this message): the job type must be declared, its id and fields valid.
 */
export function checkEnqueuedRequest(
  jobTypes: JobTypeSet,
  request: { jobType: string; requestId: unknown; fields: Readonly<Record<string, unknown>> },
): { jobType: JobType; record: InputRecord } | { problem: string } {
  const jobType = jobTypes.get(request.jobType);
  if (jobType === undefined) return { problem: `job type ${request.jobType} is not declared` };
  const checked = checkInputRecord(jobType, request.requestId, request.fields);
  return 'problem' in checked ? checked : { jobType, record: checked.record };
}
