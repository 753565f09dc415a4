/**
 * Issue 18: the ownership answer's response schema has no anyOf/oneOf (nullable values are type
 * lists), so the route serializer never validates a value with Ajv, nor compiles an Ajv schema on
 * the serving loop at the route's first answer (~90 ms, the ownership row's p99 tail). Null and
 * present values still serialize as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ownership } from '../../control/schemas/mailboxes.schemas.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

/** JSON pointers of every anyOf/oneOf under `schema`. */
function unions(schema: unknown, at = '#'): string[] {
  if (schema === null || typeof schema !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'anyOf' || k === 'oneOf') out.push(`${at}/${k}`);
    out.push(...unions(v, `${at}/${k}`));
  }
  return out;
}

let t: TestApp;
let a: Awaited<ReturnType<typeof provisionTenant>>;

beforeAll(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Schema tenant', 'schema.example');
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('the ownership response schema', () => {
  it('has no anyOf or oneOf: nullable values are type lists', () => {
    expect(unions(Ownership)).toEqual([]);
    const props = (Ownership as unknown as { properties: Record<string, { type: unknown }> }).properties;
    expect(props.businessOwner!.type).toEqual(['object', 'null']);
    expect(props.lastChange!.type).toEqual(['object', 'null']);
  });

  it('serializes null and present values as before', async () => {
    const plain = await provisionMailbox(t, a.domainId, 'plain', {}, a.token);
    const r = await t.call('GET', `/api/v1/mailboxes/${plain.id}/ownership`, { token: a.token });
    expect(r.status).toBe(200);
    expect(r.body.businessOwner).toBeNull();
    expect(r.body.lastChange).toMatchObject({ event: 'mailbox.create', actor: { type: 'token', id: expect.any(String) } });
    expect(r.body.resetPaths.find((p: { path: string }) => p.path === 'emergency-reset').heldBy).toEqual({ type: 'approver', id: null });

    const owned = await provisionMailbox(t, a.domainId, 'owned', { businessOwner: { name: 'Approver', email: 'approver@client.example' } }, a.token);
    const o = await t.call('GET', `/api/v1/mailboxes/${owned.id}/ownership`, { token: a.token });
    expect(o.body.businessOwner).toEqual({ name: 'Approver', email: 'approver@client.example' });
  });
});
