import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { SERVICE_NODE_FLAGS } from '@batchline/supervisor';
import { type Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { chartHealthPort, REPO_ROOT } from './helm.ts';

/**
 * The Dockerfile, linted without a Docker engine: dockerfile-utils (the validator behind the VS Code Docker
 * language server; hadolint is in neither npm nor Debian) for syntax and instruction errors, then this project's
 * rules for the image. The image-layout test checks that what the Dockerfile installs actually runs.
 */

const DOCKERFILE = join(REPO_ROOT, 'deploy/docker/Dockerfile');

let text: string;
let instructions: Instruction[];
let runtime: Instruction[];

beforeAll(async () => {
  text = await readFile(DOCKERFILE, 'utf8');
  instructions = DockerfileParser.parse(text).getInstructions();
  const lastFrom = instructions.findLastIndex((instruction) => instruction.getKeyword() === 'FROM');
  runtime = instructions.slice(lastFrom);
});

const keyword = (list: Instruction[], name: string) => list.filter((i) => i.getKeyword() === name);
const content = (instruction: Instruction) => instruction.getArgumentsContent() ?? '';
const jsonArguments = (instruction: Instruction) => JSON.parse(content(instruction)) as string[];

describe('deploy/docker/Dockerfile', () => {
  it('has no syntax or instruction errors (dockerfile-utils)', () => {
    expect(
      validate(text).map((diagnostic) => `line ${diagnostic.range.start.line + 1}: ${diagnostic.message}`),
    ).toEqual([]);
  });

  it('lint is not vacuous: an unknown flag and an unknown instruction are reported', () => {
    const broken = 'FROM node:20-bookworm-slim\nCOPY --chwon=node a b\nEXPOZE 8080\n';
    expect(validate(broken).map((diagnostic) => diagnostic.message)).toEqual([
      'Unknown flag: chwon',
      'Unknown instruction: EXPOZE',
    ]);
  });

  it('builds every stage from one pinned Node 20 base image', () => {
    const base = keyword(instructions, 'ARG')
      .map(content)
      .find((arg) => arg.startsWith('NODE_IMAGE='));
    expect(base).toMatch(/^NODE_IMAGE=node:20[\w.-]*(@sha256:[a-f0-9]{64})?$/);
    expect(base).not.toMatch(/:latest\b/);
    const stages = keyword(instructions, 'FROM').map((from) => content(from).split(' '));
    expect(stages.map(([, , name]) => name)).toEqual(['manifests', 'dependencies', 'build', 'runtime']);
    for (const [image] of stages) expect(image).toMatch(/^\$\{NODE_IMAGE\}$/);
  });

  it('ships production dependencies only: the build stage contributes its dist/ directories alone', () => {
    const stage = (name: string) => {
      const start = instructions.findIndex(
        (i) => i.getKeyword() === 'FROM' && content(i).endsWith(` AS ${name}`),
      );
      const next = instructions.findIndex((i, index) => index > start && i.getKeyword() === 'FROM');
      return instructions.slice(start, next === -1 ? undefined : next);
    };
    // The manifests stage keeps every package.json of the context and the lockfile, as the image-layout test does.
    expect(keyword(stage('manifests'), 'COPY').map(content)).toEqual(['. .']);
    expect(keyword(stage('manifests'), 'RUN').map(content)).toEqual([
      expect.stringMatching(/^find \. -type f ! -name package\.json ! -name package-lock\.json -delete\b/),
    ]);
    const installs = keyword(stage('dependencies'), 'RUN').map(content);
    expect(installs).toEqual([expect.stringMatching(/^npm ci --omit=dev --ignore-scripts\b/)]);
    const copies = keyword(runtime, 'COPY').map((copy) => ({
      from: (copy as Copy).getFromFlag()?.getValue(),
      paths: content(copy),
    }));
    expect(copies).toEqual([
      { from: 'dependencies', paths: '/app ./' },
      { from: undefined, paths: '. .' },
      { from: 'build', paths: '/app/services/monitor/dashboard/dist ./services/monitor/dashboard/dist' },
      { from: 'build', paths: '/app/cli/dist ./cli/dist' },
    ]);
  });

  it('installs Debian packages the lean way: update, no recommends, lists removed, in one layer', () => {
    for (const run of keyword(instructions, 'RUN')
      .map(content)
      .filter((r) => r.includes('apt-get install'))) {
      expect(run).toContain('apt-get update');
      expect(run).toContain('--no-install-recommends');
      expect(run).toContain('rm -rf /var/lib/apt/lists/*');
    }
  });

  it('runs as a non-root user under tini, with the batchline CLI as entrypoint', () => {
    const users = keyword(runtime, 'USER').map(content);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const [entrypoint] = keyword(runtime, 'ENTRYPOINT');
    expect(entrypoint && jsonArguments(entrypoint)).toEqual(['/usr/bin/tini', '--', 'batchline']);
    const runs = keyword(runtime, 'RUN').map(content).join('\n');
    expect(runs).toMatch(/apt-get install[^\n]* tini\b/);
    // The image-layout test runs the CLI the same way.
    expect(runs).toContain(`exec node ${SERVICE_NODE_FLAGS.join(' ')} /app/cli/bin/batchline.mjs "$@"`);
    expect(runs).toContain('> /usr/local/bin/batchline');
  });

  it('sets the health port the chart probes', async () => {
    const env = keyword(runtime, 'ENV').map(content).join(' ');
    expect(/\bHEALTH_PORT=(\d+)/.exec(env)?.[1]).toBe(String(await chartHealthPort()));
  });
});

describe('.dockerignore', () => {
  const ignored = async () =>
    dockerignore.default().add(await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8'));

  it('leaves out dependencies, VCS data, tests and deployment files', async () => {
    const rules = await ignored();
    for (const path of [
      'node_modules/pg/package.json',
      'libs/db/node_modules/x/index.js',
      '.git/HEAD',
      'deploy/helm/batchline/values.yaml',
      'libs/db/test/migrate.int.test.ts',
      'test/e2e/pipeline.e2e.test.ts',
      'README.md',
      '.env',
    ]) {
      expect(rules.ignores(path), path).toBe(true);
    }
  });

  it('keeps what the services run: manifests, lockfile, CLI, sources, migrations, tsconfig', async () => {
    const rules = await ignored();
    for (const path of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.base.json',
      'cli/bin/batchline.mjs',
      'cli/src/main.ts',
      'libs/db/migrations/0001_init.sql',
      'tools/testing/index.ts',
      'services/poller/src/service.ts',
    ]) {
      expect(rules.ignores(path), path).toBe(false);
    }
  });
});
