/**
 * Issue 13: a lone UTF-16 surrogate in an audited text (sent as the JSON escape "\ud800") was
 * hashed as sent but stored by SQLite as U+FFFD, so /audit/verify answered ok:false forever.
 * Audited text is made well-formed before hashing and storing; the hash covers what is stored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';
import { wellFormed } from '../../appliance/core/audit/audit.js';

let t: TestApp;
let a: { tenantId: string; domainId: string; token: string };
beforeEach(async () => {
  t = await createTestApp();
  a = await provisionTenant(t, 'Unicode', 'unicode.example');
});
afterEach(async () => t.close());

describe('audit chain and invalid Unicode', () => {
  it.each([
    ['lone high surrogate', '{"reason":"x \\ud800"}'],
    ['lone low surrogate', '{"reason":"\\udc00 y"}'],
    ['reversed pair', '{"reason":"\\udc00\\ud800"}'],
    ['valid pair (emoji) stays', '{"reason":"ok \\ud83d\\ude00"}'],
  ])('%s in a suspension reason leaves /audit/verify ok', async (_name, raw) => {
    const mb = await provisionMailbox(t, a.domainId, 'alice', {}, a.token);
    const r = await t.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, { token: a.token, raw, headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(200);
    const v = await t.call('GET', '/api/v1/audit/verify');
    expect(v.body.ok).toBe(true);
    const row = await t.core.db.selectFrom('audit_events').select('reason').where('action', '=', 'mailbox.suspend').executeTakeFirstOrThrow();
    expect(row.reason).toBe(wellFormed(JSON.parse(raw).reason));
    // A later event chains on: still ok.
    await t.call('POST', `/api/v1/mailboxes/${mb.id}/resume`, { token: a.token, body: {} });
    expect((await t.call('GET', '/api/v1/audit/verify')).body.ok).toBe(true);
  });

  it('also in a user agent and in before/after values', async () => {
    const mb = await provisionMailbox(t, a.domainId, 'bob', {}, a.token);
    const r = await t.call('POST', `/api/v1/mailboxes/${mb.id}/suspend`, {
      token: a.token,
      raw: '{"reason":"a\\ud800b"}',
      headers: { 'content-type': 'application/json', 'user-agent': 'agent \ud800' },
    });
    expect(r.status).toBe(200);
    expect((await t.call('GET', '/api/v1/audit/verify')).body.ok).toBe(true);
  });

  it('wellFormed replaces only unpaired surrogates', () => {
    expect(wellFormed('a\ud800b')).toBe('a\ufffdb');
    expect(wellFormed('\ud83d\ude00')).toBe('\ud83d\ude00');
    expect(wellFormed('\ude00\ud83d')).toBe('\ufffd\ufffd');
    expect(wellFormed(null)).toBe(null);
  });
});
