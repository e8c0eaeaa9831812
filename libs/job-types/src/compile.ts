import type { JobType } from './job-type.ts';

/**
 * Validates a declaration (an untrusted parsed JSON/YAML value) and compiles it; throws JobTypeError
 * `invalid_declaration` naming `source`, the job type and the field.
 */
export function compileJobType(declaration: unknown, source: string): JobType {
  throw new Error(`jt-core: compileJobType(${typeof declaration}, ${source}) not implemented yet`);
}
