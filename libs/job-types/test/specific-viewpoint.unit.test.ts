import { describe, expect, it } from 'vitest';
import { builtInJobTypes, DEFAULT_JOB_TYPE } from '../index.ts';

/**
 * The built-in declaration of specific_viewpoint behaves as the code it replaced (contract §3–§5): the prompts are
 * pinned here as the text that code sent, and each answer gets the code it gave.
 */
const specificViewpoint = builtInJobTypes().named(DEFAULT_JOB_TYPE);

/** The system prompt libs/domain's viewpointSystemPrompt built, its catalogue lines in the middle. */
const todayPrompt = (catalogueLines: string[]) =>
  [
    'You classify one customer review sentence into the specific viewpoints it expresses.',
    'Viewpoints (id: name):',
    ...catalogueLines,
    'Answer with JSON only, exactly of the form {"viewpoint_ids": [<id>, ...]}; use [] when none applies.',
  ].join('\n');

const catalogues: [label: string, entries: { key: string; label: string }[], lines: string[]][] = [
  [
    'three viewpoints, whitespace collapsed, template text kept as is',
    [
      { key: '1', label: 'Battery life' },
      { key: '12', label: '  Price\tis\n fair  ' },
      { key: '1000', label: 'Ünïcödé "quotes"; {{text}}' },
    ],
    ['1: Battery life', '12: Price is fair', '1000: Ünïcödé "quotes"; {{text}}'],
  ],
  ['one viewpoint', [{ key: '7', label: 'Only one' }], ['7: Only one']],
  ['no viewpoint', [], []],
];

describe('specific_viewpoint requests carry exactly the prompts sent before job types', () => {
  it.each(catalogues)('%s', (_, entries, lines) => {
    const context = { model: 'gpt-4o-mini', catalogue: entries };
    const text = 'The battery lasts "forever" {{catalogue}}';
    const line = specificViewpoint.requestLine('openai', { id: 17, fields: { text } }, context) as {
      custom_id: string;
      body: { messages: unknown };
    };
    expect(line.custom_id).toBe('rs-17');
    expect(JSON.stringify(line.body.messages)).toBe(
      JSON.stringify([
        { role: 'system', content: todayPrompt(lines) },
        { role: 'user', content: text },
      ]),
    );

    const anthropic = specificViewpoint.requestLine('anthropic', { id: 17, fields: { text } }, context) as {
      custom_id: string;
      params: Record<string, unknown>;
    };
    expect(anthropic.custom_id).toBe('rs-17');
    expect({
      model: anthropic.params.model,
      max_tokens: anthropic.params.max_tokens,
      temperature: anthropic.params.temperature,
      system: anthropic.params.system,
      messages: anthropic.params.messages,
    }).toEqual({
      model: 'gpt-4o-mini',
      max_tokens: 1024,
      temperature: 0,
      system: todayPrompt(lines),
      messages: [{ role: 'user', content: text }],
    });
  });

  it.each([
    ['rs-1', 1],
    ['rs-123456', 123456],
  ])('reads the custom id %s as %d', (text, id) => expect(specificViewpoint.parseCustomId(text)).toBe(id));
  it.each(['rs-0', 'rs-01', 'rs--1', 'rs-1.5', 'rs-', 'RS-1', 'rs-1 ', 'x-1', 'rs-99999999999999999'])(
    'rejects the custom id %j',
    (text) => expect(specificViewpoint.parseCustomId(text)).toBeNull(),
  );
  it('round-trips a custom id', () =>
    expect(specificViewpoint.parseCustomId(specificViewpoint.customIdFor(42))).toBe(42));

  it('lands in review_sentences_wl_spec_vp from wl_spec_vps, as the contract says', () => {
    expect(specificViewpoint.source).toBe('built-in');
    expect(specificViewpoint.customIdFor(5)).toBe('rs-5');
    expect(specificViewpoint.target.name).toBe('review_sentences_wl_spec_vp');
    expect(specificViewpoint.target.idColumns.map((c) => c.name)).toEqual(['review_sentence_id']);
    expect(specificViewpoint.target.valueColumns.map((c) => [c.name, c.referenceErrorCode])).toEqual([
      ['wl_spec_vp_id', 'unknown_viewpoint'],
    ]);
    expect(specificViewpoint.target.key).toEqual(['review_sentence_id', 'wl_spec_vp_id']);
    expect(specificViewpoint.catalogue?.selectSql).toBe(
      'SELECT "id"::text AS key, "name"::text AS label FROM "wl_spec_vps" ORDER BY "id"',
    );
  });
});

describe('specific_viewpoint answers get the codes they got before job types', () => {
  const known = new Set([1, 2, 3, 101]);
  const ids = (n: number, from = 1) =>
    JSON.stringify({ viewpoint_ids: Array.from({ length: n }, (_, i) => from + (i % 3)) });
  /** The answer, and the viewpoint ids it landed (each once, in order) or the error code it failed with. */
  const cases: [string, unknown, number[] | string][] = [
    ['ids', '{"viewpoint_ids":[1,2,101]}', [1, 2, 101]],
    ['an empty list', '{"viewpoint_ids": []}', []],
    ['duplicates', '{"viewpoint_ids":[3,1,3,1,2]}', [3, 1, 2]],
    ['not JSON', 'It is about battery life', 'invalid_content'],
    ['empty content', '', 'invalid_content'],
    ['JSON null', 'null', 'invalid_content'],
    ['not text', null, 'invalid_content'],
    ['a JSON array', '[1,2]', 'invalid_content'],
    ['a string', '"1"', 'invalid_content'],
    ['no keys', '{}', 'invalid_content'],
    ['another key', '{"ids":[1]}', 'invalid_content'],
    ['an extra key', '{"viewpoint_ids":[1],"why":"x"}', 'invalid_content'],
    ['not a list', '{"viewpoint_ids":1}', 'invalid_content'],
    ['strings', '{"viewpoint_ids":["1"]}', 'invalid_content'],
    ['floats', '{"viewpoint_ids":[1.5]}', 'invalid_content'],
    ['an integral float', '{"viewpoint_ids":[1.0]}', [1]],
    ['beyond safe integers', '{"viewpoint_ids":[9007199254740993]}', 'invalid_content'],
    ['huge', '{"viewpoint_ids":[1e300]}', 'invalid_content'],
    ['null ids', '{"viewpoint_ids":[null]}', 'invalid_content'],
    ['zero', '{"viewpoint_ids":[0]}', 'invalid_content'],
    ['negative', '{"viewpoint_ids":[-2]}', 'invalid_content'],
    ['nested', '{"viewpoint_ids":[[1]]}', 'invalid_content'],
    ['1000 ids', ids(1000), [1, 2, 3]],
    ['1001 ids', ids(1001), 'invalid_content'],
    ['10,000 ids', ids(10_000), 'invalid_content'],
    ['an unknown id', '{"viewpoint_ids":[1,4]}', 'unknown_viewpoint'],
    ['only unknown ids', '{"viewpoint_ids":[999,998,999]}', 'unknown_viewpoint'],
    ['an unknown and an invalid id', '{"viewpoint_ids":[999,0]}', 'invalid_content'],
  ];
  it.each(cases)('%s', (_, content, expected) => {
    const check = specificViewpoint.checkAnswer(content, (key) => known.has(Number(key)));
    if (typeof expected === 'string') {
      expect(check.ok ? null : check.code).toBe(expected);
    } else {
      expect(check).toEqual({ ok: true, rows: expected.map((id) => [id]) });
    }
  });

  it('names the unknown ids in an unknown_viewpoint message', () => {
    const check = specificViewpoint.checkAnswer('{"viewpoint_ids":[1,999]}', (key) => known.has(Number(key)));
    expect(check.ok ? null : check.message).toContain('999');
  });

  it('takes an already parsed answer (Anthropic tool input) like its JSON text', () => {
    const known4 = (key: string) => key === '4';
    expect(specificViewpoint.checkAnswer({ viewpoint_ids: [4, 4] }, known4)).toEqual({
      ok: true,
      rows: [[4]],
    });
  });
});
