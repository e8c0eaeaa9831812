import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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
