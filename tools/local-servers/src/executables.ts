import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { basename, delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Everything on the PATH, then the extra directories, in that order. */
export function searchDirectories(extraDirs: readonly string[] = []): string[] {
  const pathDirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  return [...pathDirs, ...extraDirs];
}

export async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` on the PATH or in `extraDirs`. */
export async function findExecutable(
  name: string,
  extraDirs: readonly string[] = [],
): Promise<string | undefined> {
  for (const dir of searchDirectories(extraDirs)) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** A non-root system account to run a program as (through `runuser`), for programs that refuse to run as root. */
export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  runuser: string;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/** Looks up a system account by name; undefined if it does not exist or `runuser` is missing. */
export async function findSystemUser(name: string): Promise<SystemUser | undefined> {
  const runuser = await findExecutable('runuser', ['/usr/sbin', '/sbin']);
  if (!runuser) return undefined;
  try {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      execFileAsync('id', ['-u', name]),
      execFileAsync('id', ['-g', name]),
    ]);
    return { name, uid: Number(uid.trim()), gid: Number(gid.trim()), runuser };
  } catch {
    return undefined;
  }
}

export interface RunOptions {
  cwd: string;
  /** Run as this account instead of the current one. */
  runAs?: SystemUser;
  timeoutMs?: number;
}

/** Runs a program to completion; on failure the error carries the tail of its output. */
export async function runCommand(
  file: string,
  args: readonly string[],
  options: RunOptions,
): Promise<string> {
  const { runAs, cwd, timeoutMs = 120_000 } = options;
  const [command, commandArgs] = runAs
    ? [runAs.runuser, ['-u', runAs.name, '--', file, ...args]]
    : [file, [...args]];
  try {
    const { stdout } = await execFileAsync(command, commandArgs, {
      cwd,
      timeout: timeoutMs,
      maxBuffer: 4 << 20,
    });
    return stdout;
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    const output = `${stderr}\n${stdout}`.trim();
    const detail = output ? tail(output, 800) : err instanceof Error ? err.message : String(err);
    throw new Error(`${basename(file)} failed: ${detail}`, { cause: err });
  }
}

/** The last `maxChars` characters of some output, marked when cut. */
export function tail(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `…${text.slice(-maxChars)}`;
}

/** The end of a log file, or '' if it cannot be read. */
export async function readFileTail(file: string, maxChars = 1_500): Promise<string> {
  try {
    return tail((await readFile(file, 'utf8')).trim(), maxChars);
  } catch {
    return '';
  }
}
