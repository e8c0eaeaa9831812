import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { builtInJobTypes, DEFAULT_JOB_TYPE, JobTypeError, loadJobTypes, readJobTypeFile } from '../index.ts';
import { embeddingsDeclaration, entitiesDeclaration, sentimentDeclaration } from './declarations.ts';

const root = mkdtempSync(join(tmpdir(), 'job-types-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;

/** A fresh folder holding `files` (name → content). */
function folder(files: Record<string, string>): string {
  const dir = join(root, `case-${++folders}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

function failure(load: () => unknown): JobTypeError {
  try {
    load();
  } catch (error) {
    if (error instanceof JobTypeError) return error;
    throw error;
  }
  throw new Error('loaded without error');
}

describe('builtInJobTypes', () => {
  it('holds specific_viewpoint as the default', () => {
    const set = builtInJobTypes();
    expect(set.default.name).toBe(DEFAULT_JOB_TYPE);
    expect(set.all().map((jobType) => jobType.name)).toEqual(['specific_viewpoint']);
    expect(set.get('specific_viewpoint')).toBe(set.default);
    expect(set.get('nope')).toBeUndefined();
  });
  it('names the declared job types when asked for an unknown one', () => {
    const error = failure(() => builtInJobTypes().named('review_sentiment'));
    expect(error.code).toBe('unknown_job_type');
    expect(error.message).toBe('unknown job type "review_sentiment"; declared: specific_viewpoint');
  });
});

describe('loadJobTypes', () => {
  it('is the built-in job types without a path', () => {
    expect(
      loadJobTypes(undefined)
        .all()
        .map((t) => t.name),
    ).toEqual(['specific_viewpoint']);
    expect(
      loadJobTypes('')
        .all()
        .map((t) => t.name),
    ).toEqual(['specific_viewpoint']);
  });

  it('reads a folder of JSON and YAML files, one declaration or a list each, in name order', () => {
    const dir = folder({
      'b.yaml': stringify(sentimentDeclaration()),
      'a.json': JSON.stringify([embeddingsDeclaration(), entitiesDeclaration()]),
      'notes.txt': 'not a declaration',
      '.hidden.yml': 'garbage: [',
    });
    mkdirSync(join(dir, 'nested.yaml'));
    const set = loadJobTypes(dir);
    expect(set.all().map((t) => [t.name, t.source])).toEqual([
      ['specific_viewpoint', 'built-in'],
      ['review_embeddings', join(dir, 'a.json')],
      ['entities', join(dir, 'a.json')],
      ['review_sentiment', join(dir, 'b.yaml')],
    ]);
    expect(set.named('review_sentiment').endpoint).toBe('/v1/chat/completions');
    expect(set.default.name).toBe('specific_viewpoint');
  });

  it('reads one file, and follows symbolic links to files', () => {
    const dir = folder({ 'one.yml': stringify(sentimentDeclaration()) });
    expect(loadJobTypes(join(dir, 'one.yml')).get('review_sentiment')?.source).toBe(join(dir, 'one.yml'));
    const linked = folder({});
    symlinkSync(join(dir, 'one.yml'), join(linked, 'link.yaml'));
    expect(loadJobTypes(linked).get('review_sentiment')).toBeDefined();
  });

  it('refuses a path that does not exist', () => {
    const error = failure(() => loadJobTypes(join(root, 'missing')));
    expect(error.code).toBe('unreadable_declaration');
    expect(error.message).toBe(`cannot read ${join(root, 'missing')}: ENOENT`);
  });

  it('refuses a name declared twice, across files or with a built-in', () => {
    const twice = folder({
      'a.json': JSON.stringify(sentimentDeclaration()),
      'b.yaml': stringify(sentimentDeclaration()),
    });
    const error = failure(() => loadJobTypes(twice));
    expect(error.code).toBe('duplicate_job_type');
    expect(error.message).toBe(
      `${join(twice, 'b.yaml')}: job type review_sentiment is declared twice (also in ${join(twice, 'a.json')}); job type names must be unique`,
    );
    const builtIn = { ...sentimentDeclaration(), name: 'specific_viewpoint' };
    const shadow = folder({ 'x.json': JSON.stringify(builtIn) });
    expect(failure(() => loadJobTypes(shadow)).message).toContain(
      'job type specific_viewpoint is declared twice (it is built in)',
    );
    expect(failure(() => readJobTypeFile(join(shadow, 'x.json'))).code).toBe('duplicate_job_type');
  });
});

describe('unreadable files: one line with the file and the line', () => {
  it.each([
    [
      'bad.json',
      '{\n  "name": "x",\n  "input" {}\n}',
      /^.*bad\.json:3:11: not valid JSON: (Unexpected token '\{'|Expected ':' after property name)$/,
    ],
    ['cut.json', '{\n  "name": "x",', /^.*cut\.json:2:15: not valid JSON: /],
    ['tru.json', '{"a": tru}', /^.*tru\.json(:\d+:\d+)?: not valid JSON: Unexpected token/],
    ['bad.yaml', 'name: x\ninput: [a, b\nrequest: 1\n', /^.*bad\.yaml:3:1: not valid YAML: .+$/],
    ['dup.yaml', 'name: x\nname: y\n', /^.*dup\.yaml:2:1: not valid YAML: Map keys must be unique$/],
    [
      'docs.yaml',
      'name: x\n---\nname: y\n',
      /^.*docs\.yaml:2:1: not valid YAML: Source contains multiple documents/,
    ],
    ['alias.yaml', 'name: *nowhere\n', /^.*alias\.yaml(:1:7)?: not valid YAML: .*nowhere/],
  ])('%s', (name, content, expected) => {
    const error = failure(() => readJobTypeFile(join(folder({ [name]: content }), name)));
    expect(error.code).toBe('unreadable_declaration');
    expect(error.message).toMatch(expected);
    expect(error.message).not.toContain('\n');
  });

  it('refuses a file that cannot be read', () => {
    const error = failure(() => readJobTypeFile(join(root, 'nope.yaml')));
    expect(error).toMatchObject({
      code: 'unreadable_declaration',
      message: `cannot read ${join(root, 'nope.yaml')}: ENOENT`,
    });
  });

  it.each([
    ['empty.yaml', '', 'declares no job type (the file is empty)'],
    ['list.json', '[]', 'declares no job type (an empty list)'],
  ])('refuses %s as declaring nothing', (name, content, message) => {
    const file = join(folder({ [name]: content }), name);
    expect(failure(() => readJobTypeFile(file))).toMatchObject({
      code: 'invalid_declaration',
      message: `${file}: ${message}`,
    });
  });
});

describe('invalid declarations in files name the line of the field', () => {
  it('in YAML', () => {
    const declaration = sentimentDeclaration();
    declaration.results.columns.label!.from = 'label';
    const file = join(folder({ 'x.yaml': stringify(declaration) }), 'x.yaml');
    const error = failure(() => readJobTypeFile(file));
    const line =
      stringify(declaration)
        .split('\n')
        .findIndex((text) => text.includes('from: label')) + 1;
    expect(error.code).toBe('invalid_declaration');
    expect(error.message).toMatch(
      new RegExp(
        `^${file.replaceAll('.', '\\.')}:${line}: job type review_sentiment: results\\.columns\\.label\\.from: must be`,
      ),
    );
  });

  it('in a JSON list, at the nearest field that exists', () => {
    const bad = entitiesDeclaration();
    delete (bad as { customIdPrefix?: string }).customIdPrefix;
    const text = JSON.stringify([sentimentDeclaration(), bad], null, 2);
    const file = join(folder({ 'x.json': text }), 'x.json');
    const line = text.split('\n').findIndex((t) => t.includes('"name": "entities"')) - 0;
    expect(failure(() => readJobTypeFile(file)).message).toBe(
      `${file}:${line}: job type entities: customIdPrefix: is required`,
    );
  });
});
