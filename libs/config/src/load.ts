import { z } from 'zod';
import { type Settings, type SettingsShape, settingMeta } from './setting.ts';

/** A configuration error: names the variable, what was wrong, and how to fix it. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly variable: string,
    problem: string,
    readonly fix: string,
  ) {
    super(`${variable}: ${problem}. ${fix}`);
    this.name = 'ConfigError';
  }
}

const SEE_DOCS = 'See docs/configuration.md.';

/** A variable that must be set, or a list of which at least one must be. */
export type Requirement<S extends SettingsShape> =
  | (keyof S & string)
  | readonly [keyof S & string, ...(keyof S & string)[]];

const fixOf = (shape: SettingsShape, variable: string): string =>
  (shape[variable] && settingMeta(shape[variable])?.fix) ?? SEE_DOCS;

/**
 * Reads `shape`'s variables from the environment once, at start. The first problem found becomes a ConfigError
 * that names the variable and the fix; values themselves are never echoed (they may be secrets). Empty strings
 * mean unset, as in most twelve-factor setups. `require` lists what this process cannot run without.
 */
export function loadSettings<S extends SettingsShape>(
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
  { require = [] }: { require?: readonly Requirement<S>[] } = {},
): Settings<S> {
  const present = Object.fromEntries(
    Object.keys(shape)
      .map((key) => [key, env[key]] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = z.object(shape).safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0]);
    const fix = (issue as { params?: { fix?: string } }).params?.fix ?? fixOf(shape, variable);
    throw new ConfigError(variable, issue.message.replace(/^Invalid input: /, ''), fix);
  }
  const values = parsed.data as Record<string, unknown>;
  for (const requirement of require) {
    const anyOf: readonly string[] = typeof requirement === 'string' ? [requirement] : requirement;
    if (anyOf.some((variable) => values[variable] !== undefined)) continue;
    const [first, ...others] = anyOf as [string, ...string[]];
    const problem = others.length === 0 ? 'is not set' : `is not set, nor is ${others.join(' or ')}`;
    const fix =
      others.length === 0 ? fixOf(shape, first) : `Set at least one of them. ${fixOf(shape, first)}`;
    throw new ConfigError(first, problem, fix);
  }
  return parsed.data as Settings<S>;
}

/** The values of `shape`'s secret settings in `settings`, for the logger's redaction. */
export function secretValues<S extends SettingsShape>(shape: S, settings: Settings<S>): string[] {
  const values = settings as Record<string, unknown>;
  return Object.keys(shape)
    .filter((variable) => shape[variable] && settingMeta(shape[variable])?.secret)
    .flatMap((variable) => {
      const value = values[variable];
      return Array.isArray(value) ? value : [value];
    })
    .filter((value): value is string => typeof value === 'string' && value.length > 0);
}

export interface SettingDescription {
  variable: string;
  description: string;
  /** As written in the environment; null when unset by default. */
  default: string | null;
  required: boolean;
}

/** Each variable of `shape` with what it does and its default, for `--help` and the docs. */
export function describeSettings<S extends SettingsShape>(
  shape: S,
  require: readonly Requirement<S>[] = [],
): SettingDescription[] {
  const required = new Set(require.flatMap((r) => (typeof r === 'string' ? [r] : [...r])));
  return Object.entries(shape).map(([variable, schema]) => {
    const meta = settingMeta(schema);
    return {
      variable,
      description: meta?.description ?? '',
      default: meta?.default ?? null,
      required: required.has(variable),
    };
  });
}
