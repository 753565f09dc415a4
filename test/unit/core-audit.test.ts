import { describe, expect, it } from 'vitest';
import { AUDIT_GENESIS_HASH, auditHash, canonicalAuditRow, redactSecrets } from '../../appliance/core/audit/audit.js';

const row = {
  id: 1,
  at: 1_700_000_000_000,
  tenant_id: 'tnt_a',
  actor_type: 'token',
  actor_id: 'tok_1',
  token_id: 'tok_1',
  source_ip: '127.0.0.1',
  user_agent: null,
  action: 'mailbox.create',
  target_type: 'mailbox',
  target_id: 'mbx_1',
  before: null,
  after: '{"address":"a@b.example"}',
  reason: null,
  request_id: 'req',
  approval_id: null,
  prev_hash: AUDIT_GENESIS_HASH,
};

describe('audit chain primitives', () => {
  it('hashes are sha256 hex and depend on every column and on the previous hash', () => {
    const h = auditHash(AUDIT_GENESIS_HASH, row);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    for (const key of Object.keys(row) as Array<keyof typeof row>) {
      const changed = { ...row, [key]: typeof row[key] === 'number' ? (row[key] as number) + 1 : `${row[key]}x` };
      expect(auditHash(AUDIT_GENESIS_HASH, changed), key).not.toBe(h);
    }
    expect(auditHash('f'.repeat(64), row)).not.toBe(h);
  });

  it('canonical form is stable across bigint-as-string drivers', () => {
    expect(canonicalAuditRow({ ...row, id: '1' as unknown as number, at: String(row.at) as unknown as number })).toBe(canonicalAuditRow(row));
  });

  it('redacts secrets by key name, recursively', () => {
    expect(redactSecrets({ address: 'a@b', password: 'x', nested: { privateKey: 'k', token: 't', ok: 1 }, passwordHash: 'h' })).toEqual({ address: 'a@b', nested: { ok: 1 } });
    expect(redactSecrets(null)).toBeNull();
  });
});
