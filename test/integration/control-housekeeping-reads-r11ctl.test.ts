/**
 * Reads of the scheduled housekeeping that must not grow with the audit log (issue 18, eleventh
 * round): DKIM rotation asks, for every domain at every run, when its signing key was activated
 * (the latest `dkim.activate` events of the domain). That read named the action and the target id
 * but not the target's type, so SQLite scanned the whole audit log for each domain (about 4 ms of
 * a reader thread per domain at 10,000 events, while the control plane's reads queued behind it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CompiledQuery, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditIn, type AuditInput } from '../../appliance/core/audit/audit.js';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { PLATFORM_SCOPE } from '../../appliance/core/kernel/scope.js';
import { dialectOf } from '../../appliance/db/dialect.js';
import { repos } from '../../appliance/db/repos/index.js';
import { openTestDatabase } from '../helpers/database.js';

const actor = systemActor('test');
let dir: string;
let opened: Awaited<ReturnType<typeof openTestDatabase>>;

async function append(input: Omit<AuditInput, 'tenantId'>, at: number): Promise<void> {
  await repos(opened.db, PLATFORM_SCOPE).transaction((t) => appendAuditIn(t, actor, { tenantId: null, ...input }, at));
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'postern-housekeeping-reads-'));
  opened = await openTestDatabase(path.join(dir, 'postern.db'));
  // other events on the same ids and other actions, between the ones asked for
  await append({ action: 'dkim.activate', targetType: 'domain', targetId: 'dom_a', after: { active: ['s1'] } }, 1000);
  await append({ action: 'domain.update', targetType: 'domain', targetId: 'dom_a', after: { x: 1 } }, 1500);
  await append({ action: 'dkim.activate', targetType: 'domain', targetId: 'dom_b', after: { active: ['b1'] } }, 1600);
  await append({ action: 'dkim.activate', targetType: 'mailbox', targetId: 'dom_a', after: { active: ['not-a-domain'] } }, 1700);
  await append({ action: 'dkim.activate', targetType: 'domain', targetId: 'dom_a', after: { active: ['s2'] } }, 2000);
  for (let i = 0; i < 40; i++) await append({ action: 'mailbox.create', targetType: 'mailbox', targetId: `mbx_${i}` }, 3000 + i);
}, 60_000);

afterAll(async () => {
  await opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the latest events of one action on a target', () => {
  it('are those of the action on that target (type and id), newest first, at most the limit', async () => {
    const audit = repos(opened.db, PLATFORM_SCOPE).audit;
    const rows = await audit.latestOfAction('dkim.activate', 'domain', 'dom_a', 20);
    expect(rows.map((r) => [Number(r.at), JSON.parse(r.after!)])).toEqual([
      [2000, { active: ['s2'] }],
      [1000, { active: ['s1'] }],
    ]);
    expect((await audit.latestOfAction('dkim.activate', 'domain', 'dom_a', 1)).map((r) => Number(r.at))).toEqual([2000]);
    expect(await audit.latestOfAction('dkim.activate', 'domain', 'dom_none', 20)).toEqual([]);
  });

  it('on SQLite, walk the target index instead of scanning the audit log', async () => {
    if (dialectOf(opened.db) !== 'sqlite') return;
    const seen: RootOperationNode[] = [];
    const capture: KyselyPlugin = {
      transformQuery: ({ node }) => (seen.push(node), node),
      transformResult: async ({ result }) => result,
    };
    await repos(opened.db.withPlugin(capture), PLATFORM_SCOPE).audit.latestOfAction('dkim.activate', 'domain', 'dom_a', 20);
    expect(seen).toHaveLength(1);
    const q = opened.db.getExecutor().compileQuery(seen[0]!, { queryId: 'plan' });
    const plan = await opened.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]));
    const details = plan.rows.map((r) => r.detail);
    expect(
      details.some((d) => d.includes('USING INDEX audit_target_idx')),
      details.join('; '),
    ).toBe(true);
    expect(details.some((d) => /^SCAN audit_events\b/.test(d))).toBe(false);
  });
});
