/** JSON bodies shaped by a route's JSON schema (from the OpenAPI document), for fuzzing the control plane. */
import fc from 'fast-check';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
}

/** Arbitrary JSON shaped like the schema: its property names, values sometimes of the right type, sometimes anything. */
export function bodyFor(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('', '\u0000', '\ud800', 'a'.repeat(5000), -1, 1e308, 2 ** 53 + 1));
  if (depth <= 0) return anything;
  const shaped: fc.Arbitrary<unknown>[] = [];
  if (schema.enum) shaped.push(fc.constantFrom(...schema.enum));
  if (schema.const !== undefined) shaped.push(fc.constant(schema.const));
  if (schema.anyOf?.length) shaped.push(fc.oneof(...schema.anyOf.map((s) => bodyFor(s, depth - 1))));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'object' && schema.properties) {
    const props = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, bodyFor(v, depth - 1)]));
    shaped.push(fc.record(props, { requiredKeys: [] }));
  } else if (type === 'array') {
    shaped.push(fc.array(schema.items ? bodyFor(schema.items, depth - 1) : anything, { maxLength: 4 }));
  } else if (type === 'string') {
    shaped.push(fc.string({ maxLength: 60 }), fc.emailAddress(), fc.domain());
  } else if (type === 'integer' || type === 'number') {
    shaped.push(fc.integer(), fc.double());
  } else if (type === 'boolean') {
    shaped.push(fc.boolean());
  }
  return shaped.length ? fc.oneof({ weight: 4, arbitrary: fc.oneof(...shaped) }, { weight: 1, arbitrary: anything }) : anything;
}
