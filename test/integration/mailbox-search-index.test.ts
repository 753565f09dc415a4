/**
 * The mailbox list's search at scale (issue 18): `?q=` answers exactly what a substring match of
 * the address, display name, owner name or owner email answers, whichever path finds it: the
 * leading rows of the order, the walk of the search index (migration 0060) or the field-by-field
 * scan. 700 mailboxes, the matches placed after the leading rows a sorted search looks at first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoreDeps, type CoreDeps } from '../../appliance/core/deps.js';
import { systemActor } from '../../appliance/core/kernel/authz.js';
import { tenantScope } from '../../appliance/core/kernel/scope.js';
import { listTenantMailboxes } from '../../appliance/core/mailboxes/mailboxes.service.js';
import { createDomain } from '../../appliance/core/portfolio/domains.service.js';
import { createTenant } from '../../appliance/core/portfolio/tenants.service.js';
import { loadConfig } from '../../appliance/config.js';
import { repos } from '../../appliance/db/repos/index.js';
import type { NewMailbox } from '../../appliance/db/tables/control.table.js';
import { openTestDatabase } from '../helpers/database.js';
import { CompiledQuery, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { dialectOf } from '../../appliance/db/dialect.js';

const N = 700;
const actor = systemActor('test');
let dir: string;
let opened: Awaited<ReturnType<typeof openTestDatabase>>;
let deps: CoreDeps;
let tenantId: string;
let rows: NewMailbox[];

const pad = (i: number) => String(i).padStart(4, '0');

function mailbox(i: number, domainId: string, domain: string, over: Partial<NewMailbox> = {}): NewMailbox {
  const local = `m${pad(i)}`;
  return {
    // ids in list order: the last ones sort after the leading rows the search reads first
    id: `mbx_${pad(i)}`,
    tenant_id: tenantId,
    domain_id: domainId,
    local_part: local,
    address: `${local}@${domain}`,
    display_name: null,
    status: 'active',
    quota_bytes: 1000,
    used_bytes: 0,
    message_count: 0,
    owner_name: `Owner ${pad(i)}`,
    owner_email: `owner${pad(i)}@home.example`,
    reset_destination: `owner${pad(i)}@home.example`,
    is_role: 0,
    created_at: 1_000_000 + i,
    updated_at: 1_000_000 + i,
    ...over,
  };
}

/** The answer of the substring match, computed here from the rows. */
function expected(q: string, list: NewMailbox[], limit = 100): string[] {
  const n = q.toLowerCase();
  const lower = (s: string | null | undefined) => (s ?? '').replace(/[A-Z]/g, (c) => c.toLowerCase());
  return list
    .filter((m) => [m.address, m.display_name, m.owner_name, m.owner_email].some((f) => lower(f).includes(n)))
    .map((m) => m.id!)
    .sort()
    .slice(0, limit);
}

async function search(q: string, sort?: '-address'): Promise<string[]> {
  return (await listTenantMailboxes(actor, deps, tenantId, { limit: 100 }, { q, sort })).map((m) => m.id);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'postern-mbx-search-'));
  opened = await openTestDatabase(path.join(dir, 'postern.db'), { prefix: 'mbxsearch' });
  const config = loadConfig({ POSTERN_DATA_DIR: dir, POSTERN_LOG_LEVEL: 'silent', POSTERN_HOSTNAME: 'mx.search.test', POSTERN_PUBLIC_URL: 'https://console.search.test', POSTERN_HTTP_TLS: 'false' });
  deps = createCoreDeps(opened.db, config);
  tenantId = (await createTenant(actor, deps, { name: 'Search scale' })).id;
  const domain = 'search.example';
  const { id: domainId } = await createDomain(actor, deps, tenantId, { name: domain });
  rows = Array.from({ length: N }, (_, i) => mailbox(i, domainId, domain));
  // far down the order: an owner, a display name with a LIKE wildcard, a non-ASCII name
  rows[650] = mailbox(650, domainId, domain, { owner_name: 'Quinn NEEDLE' });
  rows[690] = mailbox(690, domainId, domain, { display_name: 'Sales_Desk', owner_email: 'needle.owner@home.example' });
  rows[695] = mailbox(695, domainId, domain, { display_name: 'Zoë Ångström' });
  const r = repos(opened.db, tenantScope(tenantId));
  await r.transaction(async (t) => {
    for (const row of rows) await t.mailboxes.insert(row);
  });
}, 60_000);

afterAll(async () => {
  await opened?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('mailbox search at scale', () => {
  it('answers exactly the substring matches, whichever path finds them', async () => {
    for (const q of ['needle', 'NeEdLe', 'quinn', 'sales_desk', 'sales%desk', 'salesxdesk', 'm069', 'm06', 'm6', '0650', 'owner0690@', '@home', 'zoë', 'ångström', 'no such thing']) {
      expect(await search(q), q).toEqual(expected(q, rows));
    }
    // sorted, the page is the first 100 matches of that order
    const sorted = await search('owner06', '-address');
    const byAddress = rows.filter((m) => expected('owner06', rows, N).includes(m.id!)).sort((a, b) => (a.address < b.address ? 1 : -1));
    expect(sorted).toEqual(byAddress.slice(0, 100).map((m) => m.id));
  });

  it("matches a needle holding the fields' separator field by field, never across two fields", async () => {
    // "…ström" ends the display name of m0695, "owner 0695" starts its owner name: one text in the index
    const across = 'ngström\u001fowner';
    expect(expected(across, rows)).toEqual([]);
    expect(await search(across)).toEqual([]);
    expect(await search(across, '-address')).toEqual([]);
    expect(await search('ngström')).toEqual([rows[695]!.id]);
  });

  it('on SQLite, walks the search index without reading the rows, then reads the page by id', async () => {
    if (dialectOf(opened.db) !== 'sqlite') return;
    const seen: RootOperationNode[] = [];
    const capture: KyselyPlugin = {
      transformQuery: ({ node }) => (seen.push(node), node),
      transformResult: async ({ result }) => result,
    };
    const traced = { ...deps, db: opened.db.withPlugin(capture) };
    const page = await listTenantMailboxes(actor, traced, tenantId, { limit: 5 }, { q: 'owner06' });
    expect(page.map((m) => m.id)).toEqual(expected('owner06', rows, 5));
    const search = seen.map((node) => opened.db.getExecutor().compileQuery(node, { queryId: 'plan' })).find((c) => c.sql.includes(' like '));
    expect(search, 'the search statement').toBeDefined();
    const plan = await opened.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${search!.sql}`, [...search!.parameters]));
    const details = plan.rows.map((r) => r.detail);
    expect(
      details.some((d) => d.includes('COVERING INDEX mailboxes_search_text_idx')),
      details.join('; '),
    ).toBe(true);
  });

  it('follows changes and deletes of the searched fields', async () => {
    const r = repos(opened.db, tenantScope(tenantId));
    const m = rows[650]!;
    expect(await r.mailboxes.updateSettings(m.id!, Number(m.updated_at), { owner_name: 'Pat Haystack' }, 2_000_000, false)).toBe(true);
    rows[650] = { ...m, owner_name: 'Pat Haystack', updated_at: 2_000_000 };
    expect(await search('quinn')).toEqual([]);
    expect(await search('haystack')).toEqual([m.id]);
    expect(await search('needle')).toEqual(expected('needle', rows));
    // a change of other fields (the usage counters) keeps it findable
    await opened.db.updateTable('mailboxes').set({ used_bytes: 5, message_count: 1 }).where('id', '=', m.id!).execute();
    expect(await search('haystack')).toEqual([m.id]);
    await opened.db.deleteFrom('mailboxes').where('id', '=', rows[690]!.id!).execute();
    rows.splice(690, 1);
    expect(await search('sales_desk')).toEqual([]);
    expect(await search('needle')).toEqual(expected('needle', rows));
  });
});
