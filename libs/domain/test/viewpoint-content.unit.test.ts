import { describe, expect, it } from 'vitest';
import { checkViewpointContent } from '../index.ts';

const known = new Set([1, 2, 3, 101]);

describe('checkViewpointContent', () => {
  const check = (content: unknown) => checkViewpointContent(content, (id) => known.has(id));
  it('accepts ids and an empty list, de-duplicating', () => {
    expect(check('{"viewpoint_ids":[1,2,2]}')).toEqual({ ok: true, viewpointIds: [1, 2] });
    expect(check('{"viewpoint_ids": []}')).toEqual({ ok: true, viewpointIds: [] });
  });
  it.each([
    ['prose', 'It is about battery life'],
    ['a JSON array', '[1,2]'],
    ['strings', '{"viewpoint_ids":["1"]}'],
    ['floats', '{"viewpoint_ids":[1.5]}'],
    ['negative', '{"viewpoint_ids":[-1]}'],
    ['zero', '{"viewpoint_ids":[0]}'],
    ['nested', '{"viewpoint_ids":[[1]]}'],
    ['wrong key', '{"ids":[1]}'],
    ['extra key', '{"viewpoint_ids":[1],"reason":"x"}'],
    ['not an array', '{"viewpoint_ids":1}'],
    ['null', 'null'],
  ])('invalid_content for %s', (_label, content) => {
    expect(check(content)).toMatchObject({ ok: false, code: 'invalid_content' });
  });
  it('invalid_content for non-string content', () => {
    expect(check(null)).toMatchObject({ ok: false, code: 'invalid_content' });
  });
  it('invalid_content for an absurd number of ids', () => {
    expect(
      check(JSON.stringify({ viewpoint_ids: Array.from({ length: 10_000 }, (_, i) => i + 1) })),
    ).toMatchObject({
      ok: false,
      code: 'invalid_content',
    });
  });
  it('unknown_viewpoint names the unknown ids', () => {
    const result = check('{"viewpoint_ids":[1,999]}');
    expect(result).toMatchObject({ ok: false, code: 'unknown_viewpoint' });
    expect(!result.ok && result.message).toContain('999');
  });
});
