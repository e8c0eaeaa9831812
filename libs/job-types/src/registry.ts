import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { compileDeclaration } from './compile.ts';
import { readDeclarationFile } from './declaration-file.ts';
import { JobTypeError } from './errors.ts';
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

const BUILT_IN_FILES = ['specific_viewpoint.json'];
const BUILT_IN_DIRECTORY = new URL('../built-in/', import.meta.url);
const DECLARATION_FILE = /\.(json|ya?ml)$/i;

let builtIns: readonly JobType[] | undefined;

/** The declarations shipped in `built-in/`, compiled once per process. */
function builtInList(): readonly JobType[] {
  builtIns ??= BUILT_IN_FILES.map((file) =>
    compileDeclaration(JSON.parse(readFileSync(new URL(file, BUILT_IN_DIRECTORY), 'utf8')), {
      source: 'built-in',
      locate: () => `built-in ${file}`,
      builtIn: true,
    }),
  );
  return builtIns;
}

function jobTypeSet(jobTypes: readonly JobType[]): JobTypeSet {
  const byName = new Map(jobTypes.map((jobType) => [jobType.name, jobType]));
  const named = (name: string): JobType => {
    const jobType = byName.get(name);
    if (jobType) return jobType;
    throw new JobTypeError(
      'unknown_job_type',
      `unknown job type ${JSON.stringify(name.slice(0, 80))}; declared: ${[...byName.keys()].join(', ')}`,
    );
  };
  return { default: named(DEFAULT_JOB_TYPE), get: (name) => byName.get(name), named, all: () => jobTypes };
}

/** Adds `jobTypes` to `known`, refusing a name declared before. */
function addAll(known: Map<string, JobType>, jobTypes: readonly JobType[]): void {
  for (const jobType of jobTypes) {
    const earlier = known.get(jobType.name);
    if (earlier) {
      const where = earlier.source === 'built-in' ? 'it is built in' : `also in ${earlier.source}`;
      throw new JobTypeError(
        'duplicate_job_type',
        `${jobType.source}: job type ${jobType.name} is declared twice (${where}); job type names must be unique`,
      );
    }
    known.set(jobType.name, jobType);
  }
}

export function builtInJobTypes(): JobTypeSet {
  return jobTypeSet(builtInList());
}

function compileFile(file: string): JobType[] {
  return readDeclarationFile(file).map(({ value, locate }) =>
    compileDeclaration(value, { source: file, locate, builtIn: false }),
  );
}

/** The declaration files of a folder (not its subfolders), in name order; or the one file `path` names. */
function declarationFiles(path: string): string[] {
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch (error) {
    throw new JobTypeError(
      'unreadable_declaration',
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  if (!isFolder) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => DECLARATION_FILE.test(extname(entry.name)) && !entry.name.startsWith('.'))
    .filter(
      (entry) => entry.isFile() || (entry.isSymbolicLink() && statSync(join(path, entry.name)).isFile()),
    )
    .map((entry) => join(path, entry.name))
    .sort();
}

/** The built-in job types plus every declaration under `path` (a file or a folder); throws JobTypeError. */
export function loadJobTypes(path: string | undefined): JobTypeSet {
  const known = new Map<string, JobType>();
  addAll(known, builtInList());
  if (path !== undefined && path.trim() !== '') {
    for (const file of declarationFiles(path)) addAll(known, compileFile(file));
  }
  return jobTypeSet([...known.values()]);
}

/** The job types declared in one file (`job-types --check`); throws JobTypeError. */
export function readJobTypeFile(file: string): JobType[] {
  const jobTypes = compileFile(file);
  addAll(new Map(builtInList().map((jobType) => [jobType.name, jobType])), jobTypes);
  return jobTypes;
}
