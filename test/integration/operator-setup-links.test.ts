/**
 * A first-operator setup link never outlives its purpose: whichever way the first operator
 * comes into being (POSTERN_BOOTSTRAP_TOKEN at a later boot, or a redeemed link), every other
 * open operator link is revoked in the same transaction, audited; a link redeemed after an
 * operator appeared answers 410 and creates nothing.
 */
import { describe, expect, it } from 'vitest';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { bootstrapOperator } from '../../appliance/core/access/bootstrap.js';
import { createCoreDeps } from '../../appliance/core/deps.js';
import { issueSetupLink } from '../../appliance/core/access/setup-links.js';
import { createTestApp } from '../helpers/app.js';

const path = (u: string) => new URL(u).pathname;

describe('first-operator setup links', () => {
  it('a boot with POSTERN_BOOTSTRAP_TOKEN revokes the link an earlier boot logged (410, audited)', async () => {
    const t = await createTestApp({ bootstrapToken: false });
    try {
      const link = await bootstrapOperator(systemActor('boot'), t.core);
      if (link.action !== 'setup-link-issued') throw new Error('expected a link');
      const token = 'pst_restart_with_bootstrap_token_0123456789';
      const restarted = await bootstrapOperator(systemActor('boot'), createCoreDeps(t.core.db, { ...t.config, bootstrapToken: token }));
      expect(restarted).toMatchObject({ action: 'bootstrap-token-created', revokedLinks: 1 });
      const r = await t.call('POST', path(link.setupUrl), { token: null, body: { name: 'late' } });
      expect(r.status).toBe(410);
      const ops = await t.core.db.selectFrom('api_tokens').select('name').where('tenant_id', 'is', null).execute();
      expect(ops.map((o) => o.name)).toEqual(['bootstrap']);
      const ev = await t.call('GET', '/api/v1/audit/events?action=operator.setup_link.revoke', { token });
      expect(ev.body).toHaveLength(1);
      expect(ev.body[0]).toMatchObject({ reason: expect.stringContaining('POSTERN_BOOTSTRAP_TOKEN') });
      expect((await t.call('GET', '/api/v1/audit/verify', { token })).body.ok).toBe(true);
      // A later boot finds nothing left to revoke.
      expect(await bootstrapOperator(systemActor('boot'), t.core)).toEqual({ action: 'none' });
    } finally {
      await t.close();
    }
  });

  it('redeeming one link revokes every other open one; a link redeemed after an operator exists creates nothing', async () => {
    const t = await createTestApp({ bootstrapToken: false });
    try {
      const first = await bootstrapOperator(systemActor('boot'), t.core);
      if (first.action !== 'setup-link-issued') throw new Error('expected a link');
      // A second open link (e.g. issued by another process racing the boot).
      const other = await t.core.db
        .transaction()
        .execute((trx) => issueSetupLink(trx, systemActor('boot'), t.core, { purpose: 'operator-setup', mailboxId: null, tenantId: null, destination: 'boot-log' }, Date.now()));
      const r = await t.call('POST', path(first.setupUrl), { token: null, body: { name: 'first operator' } });
      expect(r.status).toBe(201);
      expect((await t.call('POST', `/api/v1/operator-setup/${other.token}`, { token: null, body: { name: 'second' } })).status).toBe(410);
      const ev = await t.call('GET', '/api/v1/audit/events?action=operator.setup_link.revoke', { token: r.body.token });
      expect(ev.body.map((e: { target: { id: string } }) => e.target.id)).toEqual([other.id]);

      // An operator exists; a link that is somehow still open is refused and revoked on use.
      const stray = await t.core.db
        .transaction()
        .execute((trx) => issueSetupLink(trx, systemActor('boot'), t.core, { purpose: 'operator-setup', mailboxId: null, tenantId: null, destination: 'boot-log' }, Date.now()));
      expect((await t.call('POST', `/api/v1/operator-setup/${stray.token}`, { token: null, body: { name: 'stray' } })).status).toBe(410);
      expect((await t.core.db.selectFrom('api_tokens').select('id').where('tenant_id', 'is', null).execute()).length).toBe(1);
      const stale = await t.core.db
        .transaction()
        .execute((trx) => issueSetupLink(trx, systemActor('boot'), t.core, { purpose: 'operator-setup', mailboxId: null, tenantId: null, destination: 'boot-log' }, Date.now()));
      expect(await bootstrapOperator(systemActor('boot'), t.core)).toEqual({ action: 'none', revokedLinks: 1 });
      expect((await t.call('POST', `/api/v1/operator-setup/${stale.token}`, { token: null, body: { name: 'stale' } })).status).toBe(410);
    } finally {
      await t.close();
    }
  });
});
