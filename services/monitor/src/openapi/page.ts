type Json = Record<string, unknown>;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const schemaBlock = (label: string, schema: unknown): string =>
  `<details><summary>${escapeHtml(label)}</summary><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre></details>`;

function parameterRows(parameters: Json[]): string {
  if (parameters.length === 0) return '';
  const rows = parameters.map(
    (parameter) =>
      `<tr><td><code>${escapeHtml(String(parameter.name))}</code></td><td>${escapeHtml(String(parameter.in))}</td>` +
      `<td>${parameter.required ? 'yes' : 'no'}</td><td><code>${escapeHtml(JSON.stringify(parameter.schema))}</code></td></tr>`,
  );
  return `<table><thead><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function operationSection(path: string, method: string, operation: Json): string {
  const responses = Object.entries(operation.responses as Record<string, Json>);
  const success = responses.find(([status]) => status.startsWith('2'));
  const content = (success?.[1].content ?? {}) as Record<string, { schema: unknown }>;
  const body = (operation.requestBody as { content: Record<string, { schema: unknown }> } | undefined)
    ?.content;
  return [
    `<section id="${escapeHtml(`${method}-${path}`)}">`,
    `<h2><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h2>`,
    `<p>${escapeHtml(String(operation.summary))}</p>`,
    operation.description ? `<p class="note">${escapeHtml(String(operation.description))}</p>` : '',
    parameterRows((operation.parameters as Json[]) ?? []),
    body ? schemaBlock('request body (JSON)', body['application/json']?.schema) : '',
    success
      ? schemaBlock(`${success[0]}: ${Object.keys(content).join(', ')}`, Object.values(content)[0]?.schema)
      : '',
    `<p class="errors">Errors: ${responses
      .filter(([status]) => !status.startsWith('2'))
      .map(([status, answer]) => `${status} ${escapeHtml(String(answer.description))}`)
      .join(' · ')}</p>`,
    '</section>',
  ].join('\n');
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.6rem}h2{font-size:1.1rem;margin:0 0 .3rem}section{border-top:1px solid #dde;padding:1rem 0}
.method{display:inline-block;min-width:3.5rem;padding:0 .4rem;border-radius:4px;color:#fff;font-size:.8rem;text-align:center}
.get{background:#2b6cb0}.post{background:#2f855a}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #dde;padding:.2rem .5rem;text-align:left;vertical-align:top}
pre{background:#f6f7fa;padding:.6rem;overflow:auto;max-height:30rem}.note,.errors{color:#555;font-size:.9rem}
nav a{margin-right:1rem}`;

/** The OpenAPI document as one readable page: no script and nothing fetched (the monitor may run offline). */
export function openApiPage(document: Json): string {
  const info = document.info as { title: string; version: string; description: string };
  const sections: string[] = [];
  for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, Json>>)) {
    for (const [method, operation] of Object.entries(methods))
      sections.push(operationSection(path, method, operation));
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)}</title>
<style>${STYLE}</style></head><body>
<h1>${escapeHtml(info.title)} <small>v${escapeHtml(info.version)}</small></h1>
<p>${escapeHtml(info.description)}</p>
<nav><a href="/api/docs/openapi.json">openapi.json</a> (OpenAPI ${escapeHtml(String(document.openapi))})</nav>
${sections.join('\n')}
</body></html>
`;
}
