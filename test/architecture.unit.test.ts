import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layering ARCHITECTURE.md states, checked on the sources: runtime libraries (libs/) never import services or
 * the tools for tests and the demo (tools/); services never import each other or a tool; libs/db knows nothing of
 * events or the bus; packages form no cycle; every package declares what it imports; no source file grows past
 * ~400 lines; and batch statuses are named, never written as bare numbers outside the migrations.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE_FOLDERS = ['libs', 'tools', 'services'];
const MAX_LINES = 400;

interface Workspace {
  name: string;
  folder: string;
  kind: 'libs' | 'tools' | 'services' | 'cli' | 'chaos';
  dependencies: Set<string>;
  devDependencies: Set<string>;
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function workspaces(): Workspace[] {
  const folders = [
    ...PACKAGE_FOLDERS.flatMap((top) => readdirSync(join(root, top)).map((name) => join(top, name))),
    'cli',
    'chaos',
  ];
  return folders
    .filter((folder) => {
      try {
        return statSync(join(root, folder, 'package.json')).isFile();
      } catch {
        return false;
      }
    })
    .map((folder) => {
      const json = readJson(join(root, folder, 'package.json'));
      const names = (field: string) =>
        new Set(Object.keys((json[field] as Record<string, string> | undefined) ?? {}));
      return {
        name: json.name as string,
        folder,
        kind: folder.split('/')[0] as Workspace['kind'],
        dependencies: names('dependencies'),
        devDependencies: names('devDependencies'),
      };
    });
}

const SOURCE = /\.(ts|tsx|mjs)$/;
const isTestFile = (path: string) => /(^|\/)test\//.test(path) || /\.test\.tsx?$/.test(path);
const GENERATED = /(^|\/)(dist|node_modules|\.artifacts)(\/|$)/;

function sourceFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (GENERATED.test(path) || entry.name.startsWith('dist.building-')) continue;
      if (entry.isDirectory()) walk(path);
      else if (SOURCE.test(entry.name)) out.push(path);
    }
  };
  walk(folder);
  return out;
}

const IMPORT = /(?:from\s+|import\s*\(\s*)'(@batchline\/[a-z-]+)'/g;
const importsOf = (file: string): string[] =>
  [...readFileSync(join(root, file), 'utf8').matchAll(IMPORT)].map((m) => m[1]!);

const all = workspaces();
const byName = new Map(all.map((w) => [w.name, w]));

/** Package → the workspace packages its non-test sources import. */
function sourceImports(workspace: Workspace): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of sourceFiles(workspace.folder).filter((f) => !isTestFile(f))) {
    for (const imported of importsOf(file)) {
      if (imported === workspace.name) continue;
      found.set(imported, [...(found.get(imported) ?? []), file]);
    }
  }
  return found;
}

describe('architecture', () => {
  it('has the packages it describes', () => {
    expect(all.filter((w) => w.kind === 'services').map((w) => w.folder)).toEqual(
      expect.arrayContaining([
        'services/poller',
        'services/fetcher',
        'services/persister',
        'services/notifier',
      ]),
    );
    expect(byName.has('@batchline/events')).toBe(true);
  });

  it('keeps runtime libraries apart from services and tools, and services apart from each other', () => {
    const violations: string[] = [];
    for (const workspace of all) {
      for (const [imported, files] of sourceImports(workspace)) {
        const target = byName.get(imported);
        if (!target) {
          violations.push(`${files[0]} imports ${imported}, which is not a workspace package`);
          continue;
        }
        const why =
          workspace.kind === 'libs' && target.kind === 'services'
            ? 'a library imports a service'
            : workspace.kind === 'libs' && target.kind === 'tools'
              ? 'a runtime library imports a tool for tests and the demo'
              : workspace.kind === 'services' && target.kind === 'services'
                ? 'a service imports another service'
                : workspace.kind === 'services' && target.kind === 'tools'
                  ? 'a service imports a tool for tests and the demo'
                  : workspace.name === '@batchline/db' &&
                      (imported === '@batchline/events' || imported === '@batchline/bus')
                    ? 'libs/db depends on the event contracts or the transport'
                    : null;
        if (why) violations.push(`${files[0]} imports ${imported}: ${why}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('declares every workspace package it imports (sources in dependencies, tests in either)', () => {
    const missing: string[] = [];
    for (const workspace of all) {
      for (const file of sourceFiles(workspace.folder)) {
        for (const imported of importsOf(file)) {
          if (imported === workspace.name) continue;
          const declared =
            workspace.dependencies.has(imported) ||
            (isTestFile(file) && workspace.devDependencies.has(imported));
          if (!declared) missing.push(`${file}: ${imported}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('has no dependency cycle between packages', () => {
    const edges = new Map(all.map((w) => [w.name, [...sourceImports(w).keys()]]));
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, path: string[]) => {
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(name)), name].join(' → '));
        return;
      }
      state.set(name, 'visiting');
      for (const next of edges.get(name) ?? []) visit(next, [...path, name]);
      state.set(name, 'done');
    };
    for (const name of edges.keys()) visit(name, []);
    expect(cycles).toEqual([]);
  });

  it(`keeps every source file under ${MAX_LINES} lines (tests and generated code aside)`, () => {
    const long = [...all.map((w) => w.folder), 'bench', 'test']
      .flatMap(sourceFiles)
      .filter((file) => !isTestFile(file) || file.startsWith('test/'))
      .filter((file) => !/\.test\.tsx?$/.test(file))
      .map((file) => ({ file, lines: readFileSync(join(root, file), 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ file, lines }) => `${relative(root, join(root, file))}: ${lines} lines`);
    expect(long).toEqual([]);
  });

  it('names batch statuses instead of writing 1, 2 or 9 (migrations aside)', () => {
    const BARE_STATUS = [
      /\bstatus\s*(?:=|<>|!=|===|!==)\s*[129]\b/i,
      /\bstatus\s+IN\s*\(\s*[129]/i,
      /z\.literal\(\s*[129]\s*\)/,
    ];
    const bare = all
      .flatMap((w) => sourceFiles(w.folder))
      .filter((file) => !isTestFile(file))
      .flatMap((file) =>
        readFileSync(join(root, file), 'utf8')
          .split('\n')
          .flatMap((line, index) =>
            BARE_STATUS.some((pattern) => pattern.test(line)) ? [`${file}:${index + 1}: ${line.trim()}`] : [],
          ),
      );
    expect(bare).toEqual([]);
  });
});
