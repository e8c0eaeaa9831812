import type { z } from 'zod';
import { JobTypeError } from './errors.ts';

/** Where in a declaration something is wrong: `results.columns.label.from`. */
export type FieldPath = readonly (string | number)[];

/** What a check found wrong with one field; compileJobType turns it into a JobTypeError naming file and job type. */
export class DeclarationProblem extends Error {
  constructor(
    readonly path: FieldPath,
    message: string,
  ) {
    super(message);
  }
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_SHOWN = 80;

/** Text from a declaration, shown on one line: JSON-quoted unless it is plain, and cut short. */
export function shown(text: string): string {
  const cut = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
  return PLAIN_KEY.test(cut) ? cut : JSON.stringify(cut);
}

/** `['results', 'columns', 'label', 'from']` → `results.columns.label.from`; `['request', 'messages', 1]` → `request.messages[1]`. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (PLAIN_KEY.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key.length > MAX_SHOWN ? `${key.slice(0, MAX_SHOWN)}…` : key)}]`;
  }
  return out;
}

/** The declaration's name as far as it can be read, for the error message; null when it has none. */
export function declaredName(declaration: unknown): string | null {
  if (declaration === null || typeof declaration !== 'object' || Array.isArray(declaration)) return null;
  const name = (declaration as Record<string, unknown>).name;
  return typeof name === 'string' && name !== '' ? name : null;
}

/** One line: `<where>: job type <name>: <field>: <message>`. */
export function declarationError(
  where: string,
  name: string | null,
  path: FieldPath,
  message: string,
): JobTypeError {
  const parts = [where];
  if (name !== null) parts.push(`job type ${shown(name)}`);
  if (path.length > 0) parts.push(formatPath(path));
  parts.push(message.replace(/\s+/g, ' ').trim());
  return new JobTypeError('invalid_declaration', parts.join(': '));
}

type Issue = z.core.$ZodIssue;

/** The first thing zod found wrong, said plainly (the rest shows once that is fixed). */
export function firstZodProblem(error: z.ZodError): DeclarationProblem {
  const issues = error.issues;
  const issue = issues[0]!;
  const more =
    issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new DeclarationProblem(issue.path.map(pathKey), `${issueMessage(issue)}${more}`);
}

const pathKey = (key: PropertyKey): string | number => (typeof key === 'symbol' ? String(key) : key);

function issueMessage(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.message.endsWith('received undefined')
        ? 'is required'
        : issue.message.replace(/^Invalid input: /, '');
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map(shown).join(', ')}`;
    case 'invalid_key': {
      const inner = issue.issues[0];
      return `${issue.path.length > 0 ? 'this name ' : ''}${inner ? inner.message : issue.message}`;
    }
    case 'invalid_union':
      return issue.message.startsWith('Invalid discriminator value')
        ? `must be one of ${(issue as { options?: unknown[] }).options?.map(String).join(', ') ?? ''}`
        : issue.message;
    default:
      return issue.message;
  }
}
