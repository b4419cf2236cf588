import type { OpenApiDocument } from './openapi-spec.ts';

type Node = Record<string, unknown>;

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

const schemaName = (schema: unknown) => {
  const ref = (schema as Node | undefined)?.$ref;
  return typeof ref === 'string' ? ref.split('/').pop()! : undefined;
};

const link = (schema: unknown) => {
  const name = schemaName(schema);
  return name ? `<a href="#schema-${name}">${name}</a>` : `<code>${escape(JSON.stringify(schema))}</code>`;
};

function operation(method: string, path: string, op: Node): string {
  const body = ((op.requestBody as Node | undefined)?.content as Node | undefined)?.['application/json'] as Node | undefined;
  const responses = Object.entries((op.responses ?? {}) as Record<string, Node>).map(([status, r]) => {
    const name = schemaName(r) ?? status;
    const content = Object.entries((r.content ?? {}) as Record<string, Node>).map(([type, c]) => `${escape(type)}: ${link(c.schema)}`);
    return `<li><b>${status}</b> ${escape(String(r.description ?? name))} ${content.join(', ')}</li>`;
  });
  return [
    `<section id="${escape(String(op.operationId ?? path))}">`,
    `<h3><span class="m">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>`,
    `<p>${escape(String(op.summary ?? ''))}</p>`,
    op.description ? `<pre>${escape(String(op.description))}</pre>` : '',
    body ? `<p>Request body: ${link(body.schema)}</p>` : '',
    `<ul>${responses.join('')}</ul>`,
    '</section>',
  ].join('\n');
}

/**
 * A readable page rendered from the same document the server validates with, self-contained (no
 * scripts or assets fetched from elsewhere, since servers often run offline).
 */
export function renderDocsPage(spec: OpenApiDocument): string {
  const info = spec.info as Node;
  const ops = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => operation(method, path, op as Node)),
  );
  const schemas = Object.entries((spec.components.schemas ?? {}) as Record<string, unknown>).map(
    ([name, schema]) => `<section id="schema-${name}"><h3>${name}</h3><pre>${escape(JSON.stringify(schema, null, 2))}</pre></section>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(String(info.title))} API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
pre{background:#f5f5f5;padding:.75rem;overflow:auto;white-space:pre-wrap}
.m{background:#234;color:#fff;padding:0 .4rem;border-radius:3px;font-size:.8em}
section{border-top:1px solid #ddd;margin-top:1rem}
</style></head><body>
<h1>${escape(String(info.title))} ${escape(String(info.version))}</h1>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>
<pre>${escape(String(info.description ?? ''))}</pre>
<h2>Routes</h2>
${ops.join('\n')}
<h2>Schemas</h2>
${schemas.join('\n')}
</body></html>`;
}
