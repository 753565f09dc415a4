/**
 * Issue 13's attack alerts reach the people responsible and nobody else: for a mailbox, its
 * owner of record and its own tenant's active admins (not a pending invitee, not another
 * tenant's admin, not an operator); for a console account, that person. Without a mailer the
 * outcome is recorded as unavailable (never a failed login).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertLoginAttack } from '../../appliance/core/access/login-alerts.service.js';
import { completePrincipalSetup, invitePrincipal } from '../../appliance/core/access/principals.service.js';
import { createCoreDeps, type CoreDeps } from '../../appliance/core/deps.js';
import { publicActor, systemActor } from '../../appliance/core/kernel/authz.js';
import { createTenant } from '../../appliance/core/portfolio/tenants.service.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

const PASSWORD = 'Correct-Horse-Battery-9';
const attack = (account: string) => ({ account, failures: 20, sources: 7, lastSource: '192.0.2.9', at: Date.now() });

describe('login attack alerts', () => {
  let t: TestCore;
  let deps: CoreDeps;

  /** An invited principal who completed their setup link (active), or only invited (pending). */
  async function principal(tenantId: string | null, email: string, active = true): Promise<void> {
    const p = await invitePrincipal(systemActor(), deps, tenantId, { name: email.split('@')[0]!, email });
    if (active) await completePrincipalSetup(publicActor(), deps, p.setup.token, PASSWORD);
  }

  beforeAll(async () => {
    t = await createTestCore();
    deps = createCoreDeps(t.db, t.config);
    const mb = await t.createMailbox('victim@alerts.example', PASSWORD);
    const { tenant_id: tenantId } = await t.db.selectFrom('mailboxes').select('tenant_id').where('id', '=', mb.id).executeTakeFirstOrThrow();
    const other = await createTenant(systemActor(), deps, { name: 'Other tenant' });
    await principal(tenantId, 'Admin@Alerts.example');
    await principal(tenantId, 'invitee@alerts.example', false);
    await principal(other.id, 'admin@other.example');
    await principal(null, 'operator@platform.example');
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('a mailbox: its owner and its own tenant’s active admins', async () => {
    const sent = await alertLoginAttack(deps, attack('victim@alerts.example'));
    expect(sent.map((s) => s.to).sort()).toEqual(['admin@alerts.example', 'owner@example.net']);
    expect(sent.every((s) => s.state === 'unavailable')).toBe(true);
  });

  it('the recovery path of a mailbox alerts the same people', async () => {
    const sent = await alertLoginAttack(deps, attack('recovery:victim@alerts.example'));
    expect(sent.map((s) => s.to).sort()).toEqual(['admin@alerts.example', 'owner@example.net']);
  });

  it('a console account: that person only', async () => {
    expect((await alertLoginAttack(deps, attack('operator@platform.example'))).map((s) => s.to)).toEqual(['operator@platform.example']);
    expect((await alertLoginAttack(deps, attack('admin@other.example'))).map((s) => s.to)).toEqual(['admin@other.example']);
  });

  it('an account nobody has: no alert', async () => {
    expect(await alertLoginAttack(deps, attack('nobody@alerts.example'))).toEqual([]);
  });
});
