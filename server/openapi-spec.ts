import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_LIMITS } from '../runtime/engine/engine-core.ts';

/** openapi/openapi.yaml, read once: the source of truth for validation, docs and generated types. */
export const specPath = new URL('../openapi/openapi.yaml', import.meta.url);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface OpenApiDocument extends JsonObject {
  paths: { [path: string]: { [method: string]: Json } };
  components: JsonObject;
}

export type HttpMethod = 'get' | 'post' | 'delete';

/** The JSON schemas fastify validates one route with. */
export interface RouteSchema {
  body?: JsonObject;
  params?: JsonObject;
  summary?: string;
}

let cached: OpenApiDocument | undefined;

export function loadSpec(): OpenApiDocument {
  cached ??= withEngineLimits(parse(readFileSync(specPath, 'utf8')) as OpenApiDocument);
  return cached;
}

/** The request fields whose bound is the engine's, not the spec's own. */
const ENGINE_BOUNDED = new Set(['max_tokens', 'max_completion_tokens']);

/**
 * Writes the engine's token limit into every `max_tokens` schema, so that validation, /openapi.json
 * and the engine refuse at one number, the engine's (openapi.yaml states the same for its readers).
 */
function withEngineLimits(doc: OpenApiDocument): OpenApiDocument {
  const visit = (node: Json): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(visit);
    const properties = node.properties;
    if (properties && typeof properties === 'object' && !Array.isArray(properties)) {
      for (const [name, schema] of Object.entries(properties)) {
        if (ENGINE_BOUNDED.has(name) && schema && typeof schema === 'object' && 'maximum' in schema) {
          (schema as JsonObject).maximum = DEFAULT_LIMITS.maxNewTokens;
        }
      }
    }
    Object.values(node).forEach(visit);
  };
  visit(doc);
  return doc;
}

/**
 * Resolves local `$ref`s by inlining, so that fastify's Ajv sees self-contained JSON schemas (it does
 * not know OpenAPI's components). The spec has no recursive schemas, so inlining terminates.
 */
export function dereference(value: Json, doc: OpenApiDocument = loadSpec()): Json {
  if (Array.isArray(value)) return value.map((v) => dereference(v, doc));
  if (value === null || typeof value !== 'object') return value;
  if (typeof value.$ref === 'string') return dereference(resolvePointer(doc, value.$ref), doc);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dereference(v, doc)]));
}

function resolvePointer(doc: OpenApiDocument, ref: string): Json {
  if (!ref.startsWith('#/')) throw new Error(`openapi.yaml: only local $refs are supported, got ${ref}`);
  let node: Json = doc;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !(key in node)) {
      throw new Error(`openapi.yaml: $ref ${ref} does not resolve`);
    }
    node = node[key];
  }
  return node;
}

/** A component schema with its refs inlined, for validating messages that do not travel over HTTP. */
export function componentSchema(name: string): JsonObject {
  return dereference({ $ref: `#/components/schemas/${name}` }) as JsonObject;
}

/** `/v1/models/{model}` in OpenAPI is `/v1/models/:model` in fastify. */
export function toFastifyPath(openApiPath: string): string {
  return openApiPath.replace(/\{([^}]+)\}/g, ':$1');
}

/**
 * The request schemas a route is registered with, taken from its operation in the spec. Throws for an
 * operation the spec lacks, so a route cannot exist without being documented.
 */
export function routeSchema(method: HttpMethod, openApiPath: string): RouteSchema {
  const operation = loadSpec().paths[openApiPath]?.[method] as JsonObject | undefined;
  if (!operation) throw new Error(`openapi.yaml has no ${method.toUpperCase()} ${openApiPath}`);
  const schema: RouteSchema = {};
  if (typeof operation.summary === 'string') schema.summary = operation.summary;
  const body = (operation.requestBody as JsonObject | undefined)?.content as JsonObject | undefined;
  const jsonBody = body?.['application/json'] as JsonObject | undefined;
  if (jsonBody?.schema) schema.body = dereference(jsonBody.schema) as JsonObject;
  const pathParams = ((operation.parameters ?? []) as JsonObject[]).filter((p) => p.in === 'path');
  if (pathParams.length > 0) {
    schema.params = {
      type: 'object',
      required: pathParams.map((p) => p.name),
      properties: Object.fromEntries(pathParams.map((p) => [p.name as string, dereference(p.schema)])),
    };
  }
  return schema;
}

/** Every documented operation as `METHOD /fastify/path`, for checking that routes and spec agree. */
export function documentedRoutes(): string[] {
  return Object.entries(loadSpec().paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => `${method.toUpperCase()} ${toFastifyPath(path)}`),
  );
}
