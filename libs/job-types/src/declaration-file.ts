import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import type { FieldPath } from './declaration-error.ts';
import { JobTypeError } from './errors.ts';

/**
 * Reading a declaration file: JSON or YAML, one declaration or a list of them. Every declaration comes with the
 * way to find a field's line, so that an invalid declaration's error points at it.
 */

export interface DeclarationInFile {
  value: unknown;
  /** How an error about the field at `path` names its place: `file:line` (the field's, or its parent's). */
  locate(path: FieldPath): string;
}

const unreadable = (message: string) => new JobTypeError('unreadable_declaration', message);
const firstLine = (text: string) => text.split('\n', 1)[0]!.trim();

/** `position` (0-based offset) → 1-based line and column. */
function lineAndColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, position);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: position - lineStart + 1 };
}

function parseJson(file: string, text: string, document: Document): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const raw = (error as Error).message;
    // Node says where only for some errors; the YAML reading of the same text says where for most others.
    const position = /at position (\d+)/.exec(raw);
    const yamlAt = document.errors[0]?.linePos?.[0];
    const at = position
      ? lineAndColumn(text, Number(position[1]))
      : yamlAt
        ? { line: yamlAt.line, column: yamlAt.col }
        : null;
    const message = raw
      .replace(/ in JSON at position.*$/s, '')
      .replace(/, .* is not valid JSON$/s, '')
      .replace(/\s+/g, ' ');
    throw unreadable(`${file}${at ? `:${at.line}:${at.column}` : ''}: not valid JSON: ${message}`);
  }
}

function parseYaml(file: string, document: Document): unknown {
  const [error] = document.errors;
  if (error) {
    const at = error.linePos?.[0];
    const message = firstLine(error.message).replace(/ at line \d+, column \d+:?$/, '');
    throw unreadable(`${file}${at ? `:${at.line}:${at.col}` : ''}: not valid YAML: ${message}`);
  }
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (failure) {
    throw unreadable(`${file}: not valid YAML: ${firstLine((failure as Error).message)}`);
  }
}

export function readDeclarationFile(file: string): DeclarationInFile[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw unreadable(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  // JSON is YAML too: the YAML tree of either kind of file gives the fields' lines.
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  const value =
    extname(file).toLowerCase() === '.json' ? parseJson(file, text, document) : parseYaml(file, document);
  const locate =
    (prefix: FieldPath) =>
    (path: FieldPath): string => {
      const full = [...prefix, ...path];
      for (let length = full.length; length >= 0 && document.errors.length === 0; length -= 1) {
        const node = length === 0 ? document.contents : document.getIn(full.slice(0, length), true);
        const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
        if (range) return `${file}:${lines.linePos(range[0]).line}`;
      }
      return prefix.length > 0 ? `${file} #${Number(prefix[0]) + 1}` : file;
    };
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw new JobTypeError('invalid_declaration', `${file}: declares no job type (an empty list)`);
    }
    return value.map((item, index) => ({ value: item, locate: locate([index]) }));
  }
  if (value === null || value === undefined) {
    throw new JobTypeError('invalid_declaration', `${file}: declares no job type (the file is empty)`);
  }
  return [{ value, locate: locate([]) }];
}
