import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { Emulator } from '@batchline/emulator';
import { BATCHLINE_BIN } from '@batchline/supervisor';

const exec = promisify(execFile);

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `batchline ARGS` as a user does — the bin, in a process of its own — with exactly `env`. */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliOutcome> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BATCHLINE_BIN, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

export const TEST_OPENAI_KEY = 'sk-cli-test-key-000000';
export const TEST_ANTHROPIC_KEY = 'sk-ant-cli-test-key-000000';

/**
 * What a CLI run under test gets, and nothing of the test runner's own environment: PATH, the database and, with
 * an emulator, both providers pointed at it; `extra` adds or overrides variables.
 */
export function cliEnv(
  databaseUrl: string,
  emulator?: Emulator,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    DATABASE_URL: databaseUrl,
    ...(emulator && {
      OPENAI_BASE_URL: emulator.baseUrl,
      OPENAI_API_KEY: TEST_OPENAI_KEY,
      ANTHROPIC_BASE_URL: emulator.anthropicBaseUrl,
      ANTHROPIC_API_KEY: TEST_ANTHROPIC_KEY,
    }),
    ...extra,
  };
}

/** A `batchline` process left running (`status --watch`): what it printed so far, and how it ends. */
export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv): RunningCli {
  const child = spawn(process.execPath, [BATCHLINE_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}
