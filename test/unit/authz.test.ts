import { describe, expect, it } from 'vitest';
import { ALL_PERMISSIONS, assertGrantable, authorize, can, makeActor, type Permission, PERMISSIONS, publicActor, ROLES, systemActor, TENANT_PERMISSIONS } from '../../appliance/core/kernel/authz.js';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { scopeOf } from '../../appliance/core/kernel/authz.js';

const operator = makeActor({ kind: 'token', tenantId: null, principalId: 'op', tokenId: 'tok_op', permissions: ROLES.operator });
const admin = makeActor({ kind: 'token', tenantId: 'tnt_a', principalId: 'adm', tokenId: 'tok_a', permissions: ROLES['tenant-admin'] });
const readOnlyAdmin = makeActor({ kind: 'token', tenantId: 'tnt_a', principalId: 'ro', permissions: ROLES['tenant-admin'], readOnly: true });
const helpdesk = makeActor({ kind: 'token', tenantId: 'tnt_a', principalId: 'hd', permissions: ROLES.helpdesk });

function code(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof AppError ? err.code : 'other';
  }
}

describe('permissions and roles are data', () => {
  it('the closed list contains every authority of the control model', () => {
    for (const p of [
      'domains.manage',
      'mailboxes.create',
      'mailboxes.suspend',
      'mailboxes.manage',
      'mailboxes.delete',
      'resets.initiate',
      'resets.approve',
      'forwarding.manage',
      'audit.read',
      'tokens.manage',
      'principals.manage',
    ]) {
      expect(ALL_PERMISSIONS).toContain(p);
    }
  });

  it('roles only name known permissions; tenant roles hold no platform permission', () => {
    for (const [role, perms] of Object.entries(ROLES)) {
      for (const p of perms) expect(PERMISSIONS[p as Permission], `${role}: ${p}`).toBeDefined();
      if (role !== 'operator')
        expect(
          perms.every((p) => PERMISSIONS[p as Permission].scope === 'tenant'),
          role,
        ).toBe(true);
    }
    expect(ROLES['tenant-admin']).toEqual(TENANT_PERMISSIONS);
  });
});

describe('can / authorize', () => {
  const cases: Array<[string, ReturnType<typeof makeActor>, Permission, boolean]> = [
    ['operator creates tenants', operator, 'tenants.manage', true],
    ['operator verifies audit', operator, 'audit.verify', true],
    ['tenant admin creates mailboxes', admin, 'mailboxes.create', true],
    ['tenant admin cannot create tenants', admin, 'tenants.manage', false],
    ['tenant admin cannot verify the appliance chain', admin, 'audit.verify', false],
    ['read-only reads', readOnlyAdmin, 'mailboxes.read', true],
    ['read-only cannot write', readOnlyAdmin, 'mailboxes.create', false],
    ['helpdesk initiates resets', helpdesk, 'resets.initiate', true],
    ['helpdesk cannot approve resets', helpdesk, 'resets.approve', false],
    ['public actor holds nothing', publicActor(), 'mailboxes.read', false],
    ['system holds everything', systemActor(), 'tenants.manage', true],
  ];
  it.each(cases)('%s', (_name, actor, permission, expected) => {
    expect(can(actor, permission)).toBe(expected);
    expect(code(() => authorize(actor, permission))).toBe(expected ? null : 'Forbidden');
  });

  it('makeActor drops platform permissions from tenant actors and unknown names', () => {
    const a = makeActor({ kind: 'token', tenantId: 'tnt_x', principalId: 'x', permissions: ['tenants.manage', 'audit.verify', 'domains.read', 'root'] });
    expect([...a.permissions]).toEqual(['domains.read']);
  });

  it('a public actor gets no permissions even when some are passed', () => {
    const a = makeActor({ kind: 'public', tenantId: null, principalId: 'p', permissions: ALL_PERMISSIONS });
    expect(a.permissions.size).toBe(0);
  });

  it('a mailbox owner (self-service) holds no permissions and is scoped to its tenant', () => {
    const owner = makeActor({ kind: 'mailbox-owner', tenantId: 'tnt_a', principalId: 'mailbox:mbx_1', permissions: ALL_PERMISSIONS });
    expect(owner.permissions.size).toBe(0);
    expect(scopeOf(owner)).toEqual({ tenantId: 'tnt_a' });
    expect(code(() => authorize(owner, 'mailboxes.read'))).toBe('Forbidden');
  });

  it('principals: a tenant admin session holds the tenant permissions and none of the platform', () => {
    const person = makeActor({ kind: 'tenant-admin', tenantId: 'tnt_a', principalId: 'prn_1', permissions: ALL_PERMISSIONS });
    expect([...person.permissions].sort()).toEqual([...TENANT_PERMISSIONS].sort());
    const op = makeActor({ kind: 'operator', tenantId: null, principalId: 'prn_op', permissions: ROLES.operator });
    expect(can(op, 'tenants.manage')).toBe(true);
    expect(scopeOf(op)).toEqual({ tenantId: null });
  });

  it('actors are frozen', () => {
    expect(Object.isFrozen(admin)).toBe(true);
  });
});

describe('assertGrantable', () => {
  it('allows a subset of what the actor holds', () => {
    expect(code(() => assertGrantable(admin, ['mailboxes.read', 'resets.initiate'], 'tnt_a'))).toBeNull();
  });
  it('refuses permissions the actor lacks (Forbidden)', () => {
    expect(code(() => assertGrantable(helpdesk, ['domains.manage'], 'tnt_a'))).toBe('Forbidden');
  });
  it('refuses platform permissions for a tenant principal even from an operator (Invalid)', () => {
    expect(code(() => assertGrantable(operator, ['tenants.manage'], 'tnt_a'))).toBe('Invalid');
    expect(code(() => assertGrantable(operator, ['tenants.manage'], null))).toBeNull();
  });
  it('a read-only actor grants nothing that writes', () => {
    expect(code(() => assertGrantable(readOnlyAdmin, ['mailboxes.create'], 'tnt_a'))).toBe('Forbidden');
  });
});

describe('scopes', () => {
  it('platform actors see every tenant; tenant actors their own; public actors nothing', () => {
    expect(scopeOf(operator)).toEqual({ tenantId: null });
    expect(scopeOf(systemActor())).toEqual({ tenantId: null });
    expect(scopeOf(admin)).toEqual({ tenantId: 'tnt_a' });
    expect(code(() => scopeOf(publicActor()))).toBe('Forbidden');
  });
});
