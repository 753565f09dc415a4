/**
 * RFC 5321 §4.5.1 on an appliance with only a bootstrap token (no operator person with an
 * address, no tenant administrator): postmaster@<domain> and the other required addresses are
 * accepted over real SMTP and kept in a postmaster@ mailbox made on demand, audited; an unknown
 * local part is still refused.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../helpers/appliance.js';
import { findStored } from '../helpers/stored.js';
import { swaks } from '../helpers/swaks.js';

describe('postmaster@ with nobody to deliver to', () => {
  let app: Appliance;
  let domainId: string;
  beforeAll(async () => {
    app = await Appliance.start();
    domainId = await app.ensureDomain('lonely.test');
  }, 60_000);
  afterAll(async () => app?.stop());

  it('accepts postmaster@, abuse@ and the report address into a postmaster mailbox made on demand', async () => {
    const before = await app.expectApi<{ requiredAddresses: Array<{ address: string; kind: string; deliversTo: string[] }> }>('GET', `/api/v1/domains/${domainId}`, undefined, 200);
    expect(before.requiredAddresses.find((r) => r.address === 'postmaster@lonely.test')).toMatchObject({ kind: 'alias' });
    // A local part nobody holds is still refused, and makes nothing: the fallback is for required addresses only.
    const unknown = await swaks(['--server', '127.0.0.1', '--port', String(app.ports.smtp), '--from', 'x@remote.example', '--to', 'nobody@lonely.test']);
    expect(
      unknown.replies.some((l) => /^550 5\.1\.1/.test(l)),
      unknown.output,
    ).toBe(true);
    const still = await app.expectApi<{ requiredAddresses: Array<{ address: string; kind: string }> }>('GET', `/api/v1/domains/${domainId}`, undefined, 200);
    expect(still.requiredAddresses.map((r) => r.kind)).toEqual(['alias', 'alias', 'alias']);

    // abuse@ first: the first message to any required address makes the postmaster@ mailbox.
    for (const to of ['abuse@lonely.test', 'postmaster@lonely.test', 'dmarc-reports@lonely.test']) {
      const subject = `to ${to} with nobody around`;
      const r = await swaks(['--server', '127.0.0.1', '--port', String(app.ports.smtp), '--from', 'reporter@remote.example', '--to', to, '--header', `Subject: ${subject}`]);
      expect(r.exitCode, r.output).toBe(0);
      expect(findStored(app.dataDir, 'postmaster@lonely.test', subject), to).toBeTruthy();
    }

    const after = await app.expectApi<{ requiredAddresses: Array<{ address: string; kind: string; deliversTo: string[] }> }>('GET', `/api/v1/domains/${domainId}`, undefined, 200);
    expect(after.requiredAddresses).toEqual([
      expect.objectContaining({ address: 'postmaster@lonely.test', kind: 'mailbox', deliversTo: ['postmaster@lonely.test'] }),
      expect.objectContaining({ address: 'abuse@lonely.test', kind: 'alias', deliversTo: ['postmaster@lonely.test'] }),
      expect.objectContaining({ address: 'dmarc-reports@lonely.test', kind: 'alias', deliversTo: ['postmaster@lonely.test'] }),
    ]);
    // Audited: the alias that led nowhere, the mailbox, the re-pointed aliases; the chain holds.
    const db = new Database(path.join(app.dataDir, 'postern.db'), { readonly: true });
    try {
      const actions = (
        db.prepare(`select action, actor_id from audit_events where reason like 'no operator or tenant administrator%' order by id`).all() as Array<{ action: string; actor_id: string }>
      ).map((e) => `${e.action} by ${e.actor_id}`);
      expect(actions).toEqual(['alias.delete by smtp', 'mailbox.create by smtp', 'alias.update by smtp', 'alias.update by smtp']);
    } finally {
      db.close();
    }
    const chain = await app.expectApi<{ ok: boolean }>('GET', '/api/v1/audit/verify', undefined, 200);
    expect(chain.ok).toBe(true);
  }, 60_000);
});
