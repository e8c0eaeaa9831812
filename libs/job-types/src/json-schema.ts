import { z } from 'zod';
import { JobTypeDeclaration } from './declaration.ts';

/**
 * The JSON Schema of a declaration file (one declaration or a list), generated from the zod schema for editors:
 * `job-type.schema.json` is this, checked in; a unit test keeps it current.
 */
export function jobTypeJsonSchema(): Record<string, unknown> {
  const declaration = JobTypeDeclaration.meta({ id: 'JobType' });
  const file = z.union([declaration, z.array(declaration).min(1)]).meta({
    title: 'batchline job type',
    description:
      'A job type (docs/job-types.md): how its batch requests are built and where its answers land.',
  });
  return z.toJSONSchema(file, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}
