import { describe, expect, it } from 'vitest';
import { parseTemplate, renderCatalogue, renderTemplate } from '../src/template.ts';

const fields: Record<string, string> = { text: 'a {{catalogue}} b', title: 'T' };
const render = (template: string, catalogue: string) =>
  renderTemplate(parseTemplate(template), (name) => fields[name]!, catalogue);

describe('templates', () => {
  it('finds placeholders, spaces inside the braces allowed', () => {
    expect(parseTemplate('{{title}}: {{ text }} / {{catalogue}}').names).toEqual([
      'title',
      'text',
      'catalogue',
    ]);
    expect(parseTemplate('no {placeholders} here {{').names).toEqual([]);
  });

  it('renders field values verbatim, never as templates themselves', () => {
    expect(render('{{title}}: {{text}}!', 'X')).toBe('T: a {{catalogue}} b!');
    expect(render('{"json": "{{title}}"}', '')).toBe('{"json": "T"}');
  });

  it.each([
    ['Labels:\n{{catalogue}}\nAnswer.', 'Labels:\nk: v\nAnswer.', 'Labels:\nAnswer.'],
    ['{{catalogue}}\nAnswer.', 'k: v\nAnswer.', 'Answer.'],
    ['Labels:\n{{catalogue}}', 'Labels:\nk: v', 'Labels:'],
    ['{{catalogue}}', 'k: v', ''],
    ['Labels: {{catalogue}}.', 'Labels: k: v.', 'Labels: .'],
    ['A\n{{catalogue}}\n{{title}}', 'A\nk: v\nT', 'A\nT'],
  ])('renders %j with and without catalogue entries', (template, withEntries, empty) => {
    expect(render(template, 'k: v')).toBe(withEntries);
    // A catalogue on a line of its own takes the line with it when empty (no blank line).
    expect(render(template, '')).toBe(empty);
  });

  it('renders the catalogue one entry a line, label whitespace collapsed', () => {
    expect(
      renderCatalogue([
        { key: '1', label: '  Battery\t life\n\nlasts  ' },
        { key: 'neutral', label: 'Neither "good" nor bad; ünïcode' },
      ]),
    ).toBe('1: Battery life lasts\nneutral: Neither "good" nor bad; ünïcode');
    expect(renderCatalogue([])).toBe('');
  });
});
