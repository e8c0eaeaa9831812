import { describe, expect, it } from 'vitest';
import { quoteIdentifier, quoteTableName, unqualifiedName } from '../src/sql-identifier.ts';

// The declaration schema already admits only [a-z0-9_] names; quoting is the second line of defence.
describe('SQL identifiers', () => {
  it('quotes, doubling any quote inside', () => {
    expect(quoteIdentifier('order')).toBe('"order"');
    expect(quoteIdentifier('x"; DROP TABLE y; --')).toBe('"x""; DROP TABLE y; --"');
  });
  it('quotes each part of a schema-qualified table', () => {
    expect(quoteTableName('analytics.review_sentiments')).toBe('"analytics"."review_sentiments"');
    expect(quoteTableName('select')).toBe('"select"');
    expect(unqualifiedName('analytics.review_sentiments')).toBe('review_sentiments');
    expect(unqualifiedName('outbox')).toBe('outbox');
  });
});
