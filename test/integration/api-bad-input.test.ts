/**
 * Issue 13: every route answers bad input with a 4xx, never a 5xx. Walks every route of the
 * control plane (as api-isolation does) with an empty body, bad JSON, wrong types, a huge and a
 * deeply nested body, and odd ids; then a fixed-seed fuzz (fast-check) of each route's JSON body
 * built from its schema's property names with arbitrary values.
 */
import fc from 'fast-check';
import { bodyFor, type JsonSchema } from '../../scripts/fuzz/json-arb.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialService } from '../../appliance/core/access/credentials.js';
import { createLogger } from '../../appliance/logger.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;
let ids: Record<string, string>;

beforeAll(async () => {
  t = await createTestApp({ credentials: (db) => new CredentialService(db, createLogger('silent', { pretty: false })) });
  const ta = await provisionTenant(t, 'Bad Input', 'bad-input.example');
  const mb = await provisionMailbox(t, ta.domainId, 'alice', {}, ta.token);
  ids = { tenantId: ta.tenantId, domainId: ta.domainId, mailboxId: mb.id };
});
afterAll(async () => t.close());

const SKIP = new Set(['GET /*']);
const ODD_IDS = ['x', '%00', '..', 'a'.repeat(190), '%F0%9F%92%A9', "1'%20or%20'1'='1", '-1', '9'.repeat(40), '%ED%A0%80'];

function routes() {
  return t.app.controlRoutes.filter((r) => !SKIP.has(`${r.method} ${r.url}`));
}

function fill(url: string, odd?: string): string {
  return url.replace(/:(\w+)/g, (_m, name: string) => odd ?? ids[name] ?? `${name.replace(/Id$/, '')}_nonexistent`);
}

async function send(method: string, url: string, payload: string | undefined, contentType = 'application/json') {
  const headers: Record<string, string> = { authorization: `Bearer ${t.operatorToken}` };
  if (payload !== undefined) headers['content-type'] = contentType;
  const res = await t.app.inject({ method: method as 'GET', url, headers, payload });
  return { status: res.statusCode, body: res.body };
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObj = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

describe('every route answers bad input with a 4xx', () => {
  it('empty, bad JSON, wrong types, huge and deeply nested bodies, odd ids', async () => {
    const bodies: Array<[string, string | undefined, string?]> = [
      ['no body', undefined],
      ['empty JSON body', ''],
      ['null', 'null'],
      ['bad JSON', '{"a":'],
      ['array', '[]'],
      ['string', '"x"'],
      ['number', '12'],
      ['wrong types', '{"name":1,"rows":"x","reason":[],"password":{},"localPart":null,"requestId":true}'],
      ['deep array', deep(20_000)],
      ['deep object', deepObj(5_000)],
      ['huge', `{"name":"${'x'.repeat(2 * 1024 * 1024)}"}`],
      ['form body', 'a=1&b=2', 'application/x-www-form-urlencoded'],
      ['text body', 'hello', 'text/plain'],
      ['lone surrogate', '{"name":"\\ud800","reason":"\\udfff"}'],
    ];
    const failures: string[] = [];
    let calls = 0;
    for (const r of routes()) {
      const withBody = r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH';
      for (const [name, payload, type] of withBody ? bodies : [['no body', undefined] as [string, undefined]]) {
        const res = await send(r.method, fill(r.url), payload, type);
        calls++;
        if (res.status >= 500) failures.push(`${r.method} ${r.url} [${name}] → ${res.status} ${res.body.slice(0, 160)}`);
      }
      if (r.url.includes(':')) {
        for (const odd of ODD_IDS) {
          const res = await send(r.method, fill(r.url, odd), withBody ? '{}' : undefined);
          calls++;
          if (res.status >= 500) failures.push(`${r.method} ${r.url} [id ${odd.slice(0, 20)}] → ${res.status} ${res.body.slice(0, 160)}`);
        }
      }
    }
    console.log(`${routes().length} routes, ${calls} bad requests, ${failures.length} answered 5xx`);
    expect(failures).toEqual([]);
  }, 120_000);

  it('fixed-seed fuzz of each JSON body from its schema (property names, arbitrary values)', async () => {
    const spec = t.app.swagger() as { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>> };
    const targets: Array<{ method: string; url: string; schema: JsonSchema }> = [];
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (schema) targets.push({ method: method.toUpperCase(), url: path.replace(/\{(\w+)\}/g, ':$1'), schema });
      }
    }
    expect(targets.length).toBeGreaterThan(30);
    const failures: string[] = [];
    for (const target of targets) {
      await fc.assert(
        fc.asyncProperty(bodyFor(target.schema, 3), async (body) => {
          const res = await send(target.method, fill(target.url), JSON.stringify(body));
          if (res.status >= 500) failures.push(`${target.method} ${target.url} ${JSON.stringify(body).slice(0, 200)} → ${res.status} ${res.body.slice(0, 120)}`);
          return true;
        }),
        { seed: 1313, numRuns: 25 },
      );
    }
    console.log(`${targets.length} JSON bodies fuzzed, ${targets.length * 25} requests, ${failures.length} answered 5xx`);
    expect(failures.slice(0, 10)).toEqual([]);
  }, 120_000);
});
