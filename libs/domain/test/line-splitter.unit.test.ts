import { describe, expect, it } from 'vitest';
import { LineSplitter, type SplitLine } from '../index.ts';

const split = (chunks: Buffer[], max?: number): SplitLine[] => {
  const lines: SplitLine[] = [];
  const splitter = new LineSplitter(max);
  for (const chunk of chunks) splitter.push(chunk, (line) => lines.push(line));
  splitter.end((line) => lines.push(line));
  return lines;
};

describe('LineSplitter', () => {
  it('splits lines across chunk boundaries and numbers them', () => {
    const lines = split([Buffer.from('ab'), Buffer.from('c\nde'), Buffer.from('f\n\ng')]);
    expect(lines.map((l) => [l.line, l.text])).toEqual([
      [1, 'abc'],
      [2, 'def'],
      [3, ''],
      [4, 'g'],
    ]);
  });

  it('does not emit an extra line after a trailing newline', () => {
    expect(split([Buffer.from('a\nb\n')]).map((l) => l.text)).toEqual(['a', 'b']);
  });

  it('keeps a multi-byte character split between chunks intact', () => {
    const bytes = Buffer.from('héllo wörld\n');
    const lines = split([bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)]);
    expect(lines.map((l) => l.text)).toEqual(['héllo wörld']);
  });

  it('reports an over-long line by size instead of buffering it', () => {
    const lines = split(
      [Buffer.from('short\n'), Buffer.alloc(50, 0x61), Buffer.alloc(50, 0x61), Buffer.from('\nok\n')],
      64,
    );
    expect(lines.map((l) => [l.line, l.text, l.bytes])).toEqual([
      [1, 'short', 5],
      [2, null, 100],
      [3, 'ok', 2],
    ]);
  });

  it('is unaffected by the caller reusing its buffer', () => {
    const lines: SplitLine[] = [];
    const splitter = new LineSplitter();
    const buffer = Buffer.from('abc');
    splitter.push(buffer, (l) => lines.push(l));
    buffer.write('xyz');
    splitter.push(Buffer.from('\n'), (l) => lines.push(l));
    expect(lines[0]?.text).toBe('abc');
  });
});
