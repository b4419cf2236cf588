import { Ajv } from 'ajv';
import { expect } from 'vitest';
import { componentSchema } from '../../../server/openapi-spec.ts';

const ajv = new Ajv({ allowUnionTypes: true, strict: false });
const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

/** Asserts that a response body matches the schema openapi.yaml documents for it. */
export function expectMatchesSchema(name: string, value: unknown): void {
  let validate = compiled.get(name);
  if (!validate) {
    validate = ajv.compile(componentSchema(name));
    compiled.set(name, validate);
  }
  const ok = validate(value);
  expect(ok ? [] : validate.errors, `${name}: ${JSON.stringify(value).slice(0, 300)}`).toEqual([]);
}
