import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import dockerignore from '@balena/dockerignore';
import { connectBus } from '@batchline/bus';
import { createLogger } from '@batchline/logging';
import { SERVICE_NODE_FLAGS } from '@batchline/supervisor';
import { createTestDatabase, type TestDatabase, testNamespace, testNatsUrl } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helm.ts';

/**
 * The image's file layout, rebuilt without Docker: the build context that .dockerignore lets through, installed the
 * way the Dockerfile does it (workspace manifests first, `npm ci --omit=dev`, then the sources), then run as the
 * image's unprivileged user against the real Postgres and NATS. A runtime import of a devDependency, a file the
 * context leaves out, or a service that cannot start, get ready and drain there fails here.
 */

const IMAGE_USER = { uid: 1000, gid: 1000 };
const runAsImageUser = process.getuid?.() === 0;

let root: string;
let app: string;
let database: TestDatabase;
const namespace = testNamespace('image');

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Files of the build context: everything .dockerignore does not exclude (node_modules and .git never enter). */
async function buildContext(): Promise<string[]> {
  const rules = dockerignore.default().add(await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8'));
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && !rules.ignores(relative(REPO_ROOT, path)))
        files.push(relative(REPO_ROOT, path));
    }
  };
  await walk(REPO_ROOT);
  return files;
}

async function copyIntoApp(files: readonly string[]): Promise<void> {
  for (const file of files) {
    await mkdir(dirname(join(app, file)), { recursive: true });
    await copyFile(join(REPO_ROOT, file), join(app, file));
  }
}

interface Exit {
  code: number | null;
  output: string;
}

/**
 * Runs the CLI from the installed layout as the image's `batchline` wrapper does (`node <flags> /app/cli/bin/batchline.mjs`),
 * as the image user when the test runs as root.
 */
function batchline(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(
    process.execPath,
    [...SERVICE_NODE_FLAGS, join(app, 'cli/bin/batchline.mjs'), ...args],
    {
      cwd: app,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        NATS_URL: testNatsUrl(),
        BATCHLINE_NAMESPACE: namespace,
        LOG_LEVEL: 'info',
        ...env,
      },
      ...(runAsImageUser ? IMAGE_USER : {}),
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exit = once(child, 'exit').then(([code]) => ({ code: code as number | null, output }));
  return { child, exit };
}

/** Resolves with the health port from the service's "started" log line; rejects if the process exits first. */
function healthPortOf(child: ChildProcess, exit: Promise<Exit>): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const port = /"healthPort":(\d+)/.exec(buffered)?.[1];
      if (port) resolve(Number(port));
    });
    void exit.then(({ code, output }) =>
      reject(new Error(`exited with ${code} before it started:\n${output}`)),
    );
  });
}

beforeAll(async () => {
  database = await createTestDatabase('image_layout');
  root = await mkdtemp(join(tmpdir(), 'batchline-image-'));
  // The image user must be able to read the layout (mkdtemp makes the directory private).
  await chmod(root, 0o755);
  app = join(root, 'app');
  const context = await buildContext();
  // Stages "manifests" and "dependencies": the workspace manifests alone, then the production install.
  await copyIntoApp(context.filter((file) => ['package.json', 'package-lock.json'].includes(basename(file))));
  const install = spawn(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'],
    {
      cwd: app,
    },
  );
  let installOutput = '';
  install.stderr.on('data', (chunk: Buffer) => {
    installOutput += chunk.toString();
  });
  const [code] = await once(install, 'exit');
  if (code !== 0) throw new Error(`npm ci --omit=dev failed:\n${installOutput}`);
  // Stage "runtime": the sources on top, and the dashboard and compiled CLI that stage "build" builds (here: the
  // ones `npm ci` built in the repository).
  await copyIntoApp(context);
  for (const built of ['services/monitor/dashboard/dist', 'cli/dist']) {
    if (await exists(join(REPO_ROOT, built))) {
      await cp(join(REPO_ROOT, built), join(app, built), { recursive: true });
    }
  }
}, 300_000);

afterAll(async () => {
  const log = createLogger({ service: 'image-layout-test', level: 'silent' });
  const bus = await connectBus({ servers: [testNatsUrl()], name: 'image-layout-cleanup', namespace, log });
  await bus.deleteTopology();
  await bus.drain();
  await database?.drop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the image layout (.dockerignore context, npm ci --omit=dev)', () => {
  it('holds the production dependencies and none of the development ones', async () => {
    expect(await exists(join(app, 'node_modules/tsx/package.json'))).toBe(true);
    expect(await exists(join(app, 'node_modules/pg/package.json'))).toBe(true);
    for (const devDependency of ['vitest', 'typescript', '@biomejs/biome', '@aws-cdk', 'kubernetes-models']) {
      expect(await exists(join(app, 'node_modules', devDependency)), devDependency).toBe(false);
    }
  });

  it('runs the compiled CLI, which matches the sources it ships with', async () => {
    const { compiledEntries } = (await import(
      pathToFileURL(join(app, 'cli/bin/compiled.mjs')).href
    )) as typeof import('../../cli/bin/compiled.mjs');
    expect(compiledEntries()).toMatchObject({ main: pathToFileURL(join(app, 'cli/dist/main.js')).href });
  });

  it('runs the CLI and applies the migrations', async () => {
    const help = await batchline(['--help']).exit;
    expect(help.output).toContain('usage: batchline <command>');
    expect(help.code).toBe(0);
    const migrate = await batchline(['migrate']).exit;
    expect(migrate.output).toMatch(/applied|up to date/);
    expect(migrate.code).toBe(0);
  }, 120_000);

  it('starts every service the CLI runs, gets ready on /readyz, and exits 0 on SIGTERM', async () => {
    const usage = (await batchline(['run', '--help']).exit).output;
    const runnable = /run <([a-z|]+)>/.exec(usage)?.[1]?.split('|') ?? [];
    expect(runnable).toEqual(expect.arrayContaining(['poller', 'fetcher', 'persister', 'notifier']));
    for (const service of runnable) {
      const { child, exit } = batchline(['run', service], {
        HEALTH_PORT: '0',
        MONITOR_PORT: '0',
        OPENAI_API_KEY: 'sk-image-layout-test',
        // Nothing is submitted, so nothing calls it.
        OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      });
      const port = await healthPortOf(child, exit);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status, service).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready' });
      child.kill('SIGTERM');
      const { code, output } = await exit;
      expect(code, `${service}:\n${output}`).toBe(0);
      expect(output, service).toContain(`${service} stopped`);
    }
  }, 240_000);
});
