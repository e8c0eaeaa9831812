import type { JobType } from './job-type.ts';

/** The job type of a submission or batch that names none (contract §8). */
export const DEFAULT_JOB_TYPE = 'specific_viewpoint';

/** The job types in force: the built-in ones and those of `BATCHLINE_JOB_TYPES`. */
export interface JobTypeSet {
  /** `specific_viewpoint`. */
  readonly default: JobType;
  get(name: string): JobType | undefined;
  /** The job type, or a JobTypeError `unknown_job_type` listing the declared names. */
  named(name: string): JobType;
  all(): readonly JobType[];
}

// jt-core: replace these with the implementation.
export function builtInJobTypes(): JobTypeSet {
  throw new Error('jt-core: builtInJobTypes not implemented yet');
}

/** The built-in job types plus every declaration under `path` (a file or a folder); throws JobTypeError. */
export function loadJobTypes(path: string | undefined): JobTypeSet {
  throw new Error(`jt-core: loadJobTypes(${path}) not implemented yet`);
}

/** The job types declared in one file (`job-types --check`); throws JobTypeError. */
export function readJobTypeFile(file: string): JobType[] {
  throw new Error(`jt-core: readJobTypeFile(${file}) not implemented yet`);
}
