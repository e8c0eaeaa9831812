import ts from 'typescript';
import { type Manifest, REPO_ROOT } from './helm.ts';

/**
 * Validates rendered manifests against the Kubernetes API schemas, offline, in two passes:
 *
 * 1. the JSON Schemas of the Kubernetes OpenAPI spec as compiled by `kubernetes-models` (types, formats, required
 *    fields, enums): what an API server checks when it decodes an object;
 * 2. every field name against the same API's TypeScript types (`kubernetes-models`' declarations), so that an unknown
 *    or misplaced field fails, as `kubectl apply` with strict field validation and kubeconform's strict mode do (the
 *    OpenAPI schemas themselves allow unknown fields, which an API server would silently drop).
 *
 * The ServiceMonitor is checked against the prometheus-operator CRD schema the same way.
 */

/** The package that models one apiVersion; an apiVersion not listed has no schema here and fails validation. */
function modelModule(apiVersion: string): string | undefined {
  if (apiVersion === 'monitoring.coreos.com/v1')
    return '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
  const known = ['v1', 'apps/v1', 'batch/v1', 'autoscaling/v2', 'policy/v1', 'networking.k8s.io/v1'];
  return known.includes(apiVersion) ? `kubernetes-models/${apiVersion}` : undefined;
}

const describe = (manifest: Manifest) => `${manifest.kind}/${manifest.metadata?.name ?? '?'}`;

type ModelClass = new (data: unknown) => { validate(): void };

/** Pass 1: the API's JSON Schema. Returns one line per problem. */
export async function schemaErrors(manifest: Manifest): Promise<string[]> {
  const module = modelModule(manifest.apiVersion);
  if (!module) return [`${describe(manifest)}: no schema for apiVersion ${manifest.apiVersion}`];
  const models = (await import(module)) as Record<string, ModelClass | undefined>;
  const Model = models[manifest.kind];
  if (!Model) return [`${describe(manifest)}: no schema for kind ${manifest.kind} in ${manifest.apiVersion}`];
  try {
    new Model(manifest).validate();
    return [];
  } catch (error) {
    return [`${describe(manifest)}: ${(error as Error).message}`];
  }
}

/** The JSON path of the innermost property at `position` in an object literal, e.g. `spec.template.spec`. */
function pathAt(source: ts.SourceFile, position: number): string {
  const path: string[] = [];
  const visit = (node: ts.Node): void => {
    if (position < node.getStart(source) || position >= node.getEnd()) return;
    if (ts.isPropertyAssignment(node) && ts.isStringLiteral(node.name)) path.push(node.name.text);
    if (ts.isArrayLiteralExpression(node)) {
      const index = node.elements.findIndex(
        (element) => position >= element.getStart(source) && position < element.getEnd(),
      );
      if (index >= 0) path.push(`[${index}]`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return path.join('.').replaceAll('.[', '[');
}

/**
 * Pass 2: every field must exist in the API's types. All manifests are type-checked together in one in-memory
 * program (one `const` per manifest, annotated with its kind's interface), so TypeScript's excess-property check
 * reports each unknown field with its place.
 */
export function unknownFieldErrors(manifests: readonly Manifest[]): string[] {
  const modules = [...new Set(manifests.map((manifest) => modelModule(manifest.apiVersion)))].filter(
    (module): module is string => module !== undefined,
  );
  const lines = modules.map((module, index) => `import type * as api${index} from '${module}';`);
  const owners: { manifest: Manifest; firstLine: number; lastLine: number }[] = [];
  for (const [index, manifest] of manifests.entries()) {
    const module = modelModule(manifest.apiVersion);
    if (!module) continue;
    const body = JSON.stringify(manifest, null, 2).split('\n');
    owners.push({ manifest, firstLine: lines.length, lastLine: lines.length + body.length - 1 });
    body[0] = `export const manifest${index}: api${modules.indexOf(module)}.I${manifest.kind} = ${body[0]}`;
    body[body.length - 1] += ';';
    lines.push(...body);
  }
  // Inside the repository, so that the model packages resolve from its node_modules.
  const fileName = `${REPO_ROOT}/deploy/test/.rendered-manifests.ts`;
  const text = lines.join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFromDisk = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName
      ? ts.createSourceFile(name, text, languageVersion, true)
      : readFromDisk(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const source = program.getSourceFile(fileName)!;
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (diagnostic.file?.fileName !== fileName || diagnostic.start === undefined) return message;
    const { line } = source.getLineAndCharacterOfPosition(diagnostic.start);
    const owner = owners.find((entry) => line >= entry.firstLine && line <= entry.lastLine);
    const where = owner ? describe(owner.manifest) : 'manifests';
    return `${where}: ${pathAt(source, diagnostic.start)}: ${message}`;
  });
}

/** Both passes over every manifest. */
export async function kubernetesSchemaErrors(manifests: readonly Manifest[]): Promise<string[]> {
  const perManifest = await Promise.all(manifests.map(schemaErrors));
  return [...perManifest.flat(), ...unknownFieldErrors(manifests)];
}
