import { describe, expect, it } from 'vitest';
import { isDatabaseTrouble } from '../src/pool-observer.ts';

const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

describe('isDatabaseTrouble', () => {
  it('counts lost, refused and timed-out connections (no SQLSTATE) as trouble', () => {
    expect(
      isDatabaseTrouble(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
    expect(isDatabaseTrouble(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseTrouble(new Error('timeout exceeded when trying to connect'))).toBe(true);
  });

  it.each([
    ['08006', 'connection failure'],
    ['53300', 'too many connections'],
    ['57P01', 'backend terminated by an administrator'],
    ['57014', 'statement cancelled by its timeout (a lock held too long)'],
    ['3D000', 'database dropped'],
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock'],
    ['55P03', 'lock not available'],
    ['25006', 'read-only server after a fail-over'],
    ['58030', 'I/O error'],
    ['XX000', 'internal error'],
  ])('counts SQLSTATE %s (%s) as trouble', (code) => {
    expect(isDatabaseTrouble(pgError(code))).toBe(true);
  });

  it.each([
    ['23505', 'unique violation'],
    ['23503', 'foreign key violation'],
    ['42P01', 'undefined table'],
    ['22P02', 'invalid text representation'],
  ])('takes SQLSTATE %s (%s) as an answer, not trouble', (code) => {
    expect(isDatabaseTrouble(pgError(code))).toBe(false);
  });

  it('ignores what is not an error', () => {
    expect(isDatabaseTrouble('down')).toBe(false);
  });
});
