/**
 * Issue 18: the audit chain is checked off the serving loop by one long-lived thread (SQLite
 * file databases), not a new thread per check: every check after the first reuses it (its start
 * had cost the loop and a core at each on-demand verification), and concurrent checks of two
 * databases each get their own answer. A check under way keeps the process alive; an idle thread
 * does not (a CLI ends when its answer is in).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHECK_NICE, checkThreadsStarted, lastCheckNice } from '../../appliance/db/audit-chain-thread.js';
import { appendAudit, AUDIT_CHAIN_COLUMNS, AUDIT_GENESIS_HASH, verifyAuditChain } from '../../appliance/core/audit/audit.js';
import { PLATFORM_SCOPE } from '../../appliance/core/kernel/scope.js';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { repos } from '../../appliance/db/repos/index.js';
import { testOnPostgres } from '../helpers/database.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

let apps: TestApp[] = [];
beforeEach(async () => {
  apps = [await createTestApp(), await createTestApp()];
});
afterEach(async () => {
  for (const t of apps) await t.close();
});

async function append(t: TestApp, n: number): Promise<void> {
  await t.core.db.transaction().execute(async (trx) => {
    for (let i = 0; i < n; i++) await appendAudit(trx, systemActor('test'), { action: 'test.event', targetType: 'test', targetId: String(i), tenantId: null, after: { i } }, Date.now());
  });
}

const offThread = (t: TestApp) => repos(t.core.db, PLATFORM_SCOPE).audit.verifyOffThread(AUDIT_CHAIN_COLUMNS, 0, AUDIT_GENESIS_HASH);
const headSeq = async (t: TestApp) => Number((await t.core.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);

describe.skipIf(testOnPostgres())('the audit chain check thread (SQLite)', () => {
  it('is started once and reused by every later check', async () => {
    const [a] = apps as [TestApp, TestApp];
    await append(a, 5);
    expect(await offThread(a)).toMatchObject({ ok: true });
    const started = checkThreadsStarted();
    for (let i = 0; i < 4; i++) {
      await append(a, 2);
      expect(await offThread(a)).toMatchObject({ ok: true, events: await headSeq(a) });
    }
    expect(await verifyAuditChain(a.core.db)).toMatchObject({ ok: true });
    expect(checkThreadsStarted()).toBe(started);
    if (process.platform === 'linux') expect(lastCheckNice()).toBe(CHECK_NICE);
  });

  it('answers concurrent checks of two databases each with its own chain', async () => {
    const [a, b] = apps as [TestApp, TestApp];
    await append(a, 7);
    await append(b, 30);
    await b.core.db.updateTable('audit_events').set({ reason: 'edited' }).where('id', '=', 12).execute();
    const [ra, rb, ra2] = await Promise.all([offThread(a), offThread(b), offThread(a)]);
    expect(ra).toMatchObject({ ok: true, events: await headSeq(a) });
    expect(ra2).toEqual(ra);
    expect(rb).toEqual({ ok: false, events: 11, firstBadEventId: 12 });
  });

  it('reports a database it cannot open, and keeps serving the next check', async () => {
    const [a] = apps as [TestApp, TestApp];
    await append(a, 3);
    const started = checkThreadsStarted();
    const fake = { file: '/nonexistent/postern-r7/none.sqlite' };
    const { READERS_OF } = await import('../../appliance/db/sqlite-readers.js');
    const db = {};
    READERS_OF.set(db, fake as never);
    const { verifyChainOffThread } = await import('../../appliance/db/audit-chain-thread.js');
    await expect(verifyChainOffThread(db, AUDIT_CHAIN_COLUMNS, 0, AUDIT_GENESIS_HASH)!).rejects.toThrow(/audit chain check failed/);
    expect(await offThread(a)).toMatchObject({ ok: true });
    expect(checkThreadsStarted()).toBe(started);
  });
});
