import {
  anthropicRequestLine,
  checkViewpointContent,
  openAIRequestLine,
  type Viewpoint,
  viewpointSystemPrompt,
} from '@batchline/domain';
import { describe, expect, it } from 'vitest';
import { builtInJobTypes, DEFAULT_JOB_TYPE } from '../index.ts';

/** The built-in declaration of specific_viewpoint behaves as the code it replaces (contract §3–§5). */
const specificViewpoint = builtInJobTypes().named(DEFAULT_JOB_TYPE);

const catalogues: Viewpoint[][] = [
  [
    { id: 1, name: 'Battery life' },
    { id: 12, name: '  Price\tis\n fair  ' },
    { id: 1000, name: 'Ünïcödé "quotes"; {{text}}' },
  ],
  [{ id: 7, name: 'Only one' }],
  [],
];
const entriesOf = (catalogue: Viewpoint[]) => catalogue.map((vp) => ({ key: String(vp.id), label: vp.name }));

describe('specific_viewpoint requests are byte for byte the prompts of libs/domain', () => {
  it.each(catalogues.map((catalogue) => [catalogue.length, catalogue] as const))(
    'with %i viewpoints',
    (_, catalogue) => {
      const context = { model: 'gpt-4o-mini', catalogue: entriesOf(catalogue) };
      const text = 'The battery lasts "forever" {{catalogue}}';
      const options = {
        reviewSentenceId: 17,
        text,
        model: 'gpt-4o-mini',
        systemPrompt: viewpointSystemPrompt(catalogue),
      };
      const today = openAIRequestLine(options) as { custom_id: string; body: { messages: unknown } };
      const line = specificViewpoint.requestLine(
        'openai',
        { id: 17, fields: { text } },
        context,
      ) as typeof today;
      expect(line.custom_id).toBe(today.custom_id);
      expect(JSON.stringify(line.body.messages)).toBe(JSON.stringify(today.body.messages));

      const todayAnthropic = anthropicRequestLine(options) as { params: Record<string, unknown> };
      const anthropic = specificViewpoint.requestLine('anthropic', { id: 17, fields: { text } }, context) as {
        params: Record<string, unknown>;
      };
      for (const key of ['model', 'max_tokens', 'temperature', 'system', 'messages']) {
        expect(anthropic.params[key]).toEqual(todayAnthropic.params[key]);
      }
    },
  );

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

describe('specific_viewpoint answers get the codes checkViewpointContent gives', () => {
  const known = new Set([1, 2, 3, 101]);
  const ids = (n: number, from = 1) =>
    JSON.stringify({ viewpoint_ids: Array.from({ length: n }, (_, i) => from + (i % 3)) });
  const cases: [string, string][] = [
    ['ids', '{"viewpoint_ids":[1,2,101]}'],
    ['an empty list', '{"viewpoint_ids": []}'],
    ['duplicates', '{"viewpoint_ids":[3,1,3,1,2]}'],
    ['not JSON', 'It is about battery life'],
    ['empty content', ''],
    ['JSON null', 'null'],
    ['a JSON array', '[1,2]'],
    ['a string', '"1"'],
    ['no keys', '{}'],
    ['another key', '{"ids":[1]}'],
    ['an extra key', '{"viewpoint_ids":[1],"why":"x"}'],
    ['not a list', '{"viewpoint_ids":1}'],
    ['strings', '{"viewpoint_ids":["1"]}'],
    ['floats', '{"viewpoint_ids":[1.5]}'],
    ['an integral float', '{"viewpoint_ids":[1.0]}'],
    ['beyond safe integers', '{"viewpoint_ids":[9007199254740993]}'],
    ['huge', '{"viewpoint_ids":[1e300]}'],
    ['null ids', '{"viewpoint_ids":[null]}'],
    ['zero', '{"viewpoint_ids":[0]}'],
    ['negative', '{"viewpoint_ids":[-2]}'],
    ['1000 ids', ids(1000)],
    ['1001 ids', ids(1001)],
    ['an unknown id', '{"viewpoint_ids":[1,4]}'],
    ['only unknown ids', '{"viewpoint_ids":[999,998,999]}'],
    ['an unknown and an invalid id', '{"viewpoint_ids":[999,0]}'],
  ];
  it.each(cases)('%s', (_, content) => {
    const today = checkViewpointContent(content, (id) => known.has(id));
    const check = specificViewpoint.checkAnswer(content, (key) => known.has(Number(key)));
    if (today.ok) {
      expect(check).toEqual({ ok: true, rows: today.viewpointIds.map((id) => [id]) });
    } else {
      expect(check.ok).toBe(false);
      expect(check.ok ? null : check.code).toBe(today.code);
    }
  });

  it('takes an already parsed answer (Anthropic tool input) like its JSON text', () => {
    const known4 = (key: string) => key === '4';
    expect(specificViewpoint.checkAnswer({ viewpoint_ids: [4, 4] }, known4)).toEqual({
      ok: true,
      rows: [[4]],
    });
  });
});
