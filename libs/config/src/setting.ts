import type { z } from 'zod';

/** What people read about a setting: in `--help`, in configuration errors and in the docs. */
export interface SettingDoc {
  /** One line: what it does. */
  description: string;
  /** How to set it right, shown with a configuration error. */
  fix?: string;
  /** Its value must never be printed (keys, webhook URLs, tokens, a database URL with its password). */
  secret?: boolean;
}

interface SettingMeta extends SettingDoc {
  /** The default as it would be written in the environment; none: unset by default. */
  default?: string;
}

const metas = new WeakMap<z.ZodType, SettingMeta>();

/**
 * One environment variable: how its text is read (`schema`), what it means, and its default written as in the
 * environment (parsed like a value that was set, so `--help` shows exactly what applies).
 */
export function setting<T extends z.ZodType<unknown, string>>(
  schema: T,
  doc: SettingDoc & { default: string },
): z.ZodPrefault<T>;
export function setting<T extends z.ZodType<unknown, string>>(schema: T, doc: SettingDoc): z.ZodOptional<T>;
export function setting<T extends z.ZodType<unknown, string>>(
  schema: T,
  doc: SettingDoc & { default?: string },
): z.ZodPrefault<T> | z.ZodOptional<T> {
  const wrapped = doc.default === undefined ? schema.optional() : schema.prefault(doc.default as never);
  metas.set(wrapped, doc);
  return wrapped;
}

/** A group of settings: variable name → its schema (made with `setting`). */
export type SettingsShape = Record<string, z.ZodType>;

/** The typed values of a group of settings. */
export type Settings<S extends SettingsShape> = z.output<z.ZodObject<S>>;

export const settingMeta = (schema: z.ZodType): SettingMeta | undefined => metas.get(schema);
