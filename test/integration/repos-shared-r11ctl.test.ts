/**
 * Issue 18, eleventh round: `repos(db, scope)` (appliance/db/repos/index.ts) outside a
 * transaction answers one shared set of repositories per handle and scope tenant (the ownership
 * answer asked for a new set half a dozen times per request). A transaction's repositories are
 * its own, and each set reads only its scope's rows, as before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORM_SCOPE, tenantScope } from '../../appliance/core/kernel/scope.js';
import { readsOffThread } from '../../appliance/db/dialect.js';
import { repos } from '../../appliance/db/repos/index.js';
import { openTestDatabase } from '../helpers/database.js';

let dir: string;
let opened: Awaited<ReturnType<typeof openTestDatabase>>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'postern-repos-shared-'));
  opened = await openTestDatabase(path.join(dir, 'postern.db'));
  const now = Date.now();
  for (const id of ['tnt_a', 'tnt_b']) await opened.db.insertInto('tenants').values({ id, name: id, quota_bytes: null, created_at: now, updated_at: now }).execute();
}, 60_000);

afterAll(async () => {
  await opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('repos(db, scope)', () => {
  it('is one shared set per handle and scope tenant outside a transaction', () => {
    const db = opened.db;
    expect(repos(db, tenantScope('tnt_a'))).toBe(repos(db, tenantScope('tnt_a')));
    expect(repos(db, tenantScope('tnt_a')).tenants).toBe(repos(db, tenantScope('tnt_a')).tenants);
    expect(repos(db, PLATFORM_SCOPE)).toBe(repos(db, { tenantId: null }));
    expect(repos(db, tenantScope('tnt_b'))).not.toBe(repos(db, tenantScope('tnt_a')));
    expect(repos(db, PLATFORM_SCOPE)).not.toBe(repos(db, tenantScope('tnt_a')));
    const reader = readsOffThread(db);
    if (reader !== db) expect(repos(reader, tenantScope('tnt_a'))).not.toBe(repos(db, tenantScope('tnt_a')));
    expect(repos(reader, tenantScope('tnt_a')).db).toBe(reader);
  });

  it("reads only its scope's rows, shared or not", async () => {
    const db = opened.db;
    for (let i = 0; i < 2; i++) {
      expect((await repos(db, tenantScope('tnt_a')).tenants.get('tnt_a')).id).toBe('tnt_a');
      await expect(repos(db, tenantScope('tnt_a')).tenants.get('tnt_b')).rejects.toThrow(/not found/i);
      expect((await repos(db, PLATFORM_SCOPE).tenants.get('tnt_b')).id).toBe('tnt_b');
    }
  });

  it('gives a transaction repositories of its own, bound to it', async () => {
    const outside = repos(opened.db, tenantScope('tnt_a'));
    await outside.transaction(async (t) => {
      expect(t).not.toBe(outside);
      expect(t.db.isTransaction).toBe(true);
      const again = repos(t.db, tenantScope('tnt_a'));
      expect(again).not.toBe(outside);
      expect(again.db).toBe(t.db);
    });
  });
});
