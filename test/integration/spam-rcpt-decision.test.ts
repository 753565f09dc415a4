/**
 * The spam decision an inbound RCPT asks for (core/sending/spam-decision.ts) reads the
 * recipient's domain, mailbox and both policy rows in one statement and its list entries in a
 * second (issue 18; five statements before), with the same answers: the default policy, the
 * tenant's, a domain's override (only one of the domain's own tenant), the mailbox (or none),
 * and list hits with a mailbox's entry winning over the tenant's.
 */
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spamDecisionFor } from '../../appliance/core/sending/spam-decision.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

class Count implements KyselyPlugin {
  statements = 0;
  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    this.statements++;
    return node;
  }
  async transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return result;
  }
}

const DEFAULTS = { junkScore: 6, rejectScore: 15, greylisting: false, failMode: 'tempfail' as const };

let core: TestCore;
let tenantId: string;
let domainId: string;
let mailboxId: string;

function policyRow(scope: 'tenant' | 'domain', scopeId: string, tenant: string, junk: number) {
  return { scope, scope_id: scopeId, tenant_id: tenant, junk_score: junk, reject_score: junk + 10, greylisting: 1, fail_mode: 'accept', owner_lists: 0, updated_by: null, updated_at: Date.now() };
}

beforeAll(async () => {
  core = await createTestCore();
  mailboxId = (await core.createMailbox('rcpt@spamfacts.test', 'a password of some length')).id;
  const d = await core.db.selectFrom('domains').select(['id', 'tenant_id']).where('name', '=', 'spamfacts.test').executeTakeFirstOrThrow();
  domainId = d.id;
  tenantId = d.tenant_id;
});

afterAll(async () => {
  await core?.close();
});

async function decide(address: string, sender = 'someone@sender.example', ip = '192.0.2.7') {
  const count = new Count();
  const decision = await spamDecisionFor(core.db.withPlugin(count), DEFAULTS, { address, sender, ip });
  return { decision, statements: count.statements };
}

describe('spam decision at RCPT', () => {
  it('answers null for a domain not hosted here, in one statement', async () => {
    expect(await decide('x@elsewhere.example')).toEqual({ decision: null, statements: 1 });
  });

  it('reads domain, mailbox and policies in one statement, list entries in a second', async () => {
    const { decision, statements } = await decide('RCPT@spamfacts.test');
    expect(statements).toBe(2);
    expect(decision).toEqual({
      tenantId,
      domainId,
      mailboxId,
      policyKey: `${tenantId}/*`,
      policy: { junkScore: 6, rejectScore: 15, greylisting: false, failMode: 'tempfail', ownerLists: true },
      listed: null,
    });
    // an address without a mailbox (an alias or a catch-all target) has none
    expect((await decide('nobody@spamfacts.test')).decision?.mailboxId).toBeNull();
  });

  it('takes the tenant policy, then a domain override of the same tenant only', async () => {
    await core.db
      .insertInto('spam_policies')
      .values(policyRow('tenant', tenantId, tenantId, 4))
      .execute();
    let d = (await decide('rcpt@spamfacts.test')).decision!;
    expect(d.policyKey).toBe(`${tenantId}/*`);
    expect(d.policy).toEqual({ junkScore: 4, rejectScore: 14, greylisting: true, failMode: 'accept', ownerLists: false });

    // a domain row recorded for another tenant is not this domain's override
    await core.db.insertInto('tenants').values({ id: 'tnt_other', name: 'Other tenant', created_at: Date.now(), updated_at: Date.now() }).execute();
    await core.db
      .insertInto('spam_policies')
      .values(policyRow('domain', domainId, 'tnt_other', 2))
      .execute();
    d = (await decide('rcpt@spamfacts.test')).decision!;
    expect(d.policyKey).toBe(`${tenantId}/*`);
    expect(d.policy.junkScore).toBe(4);

    await core.db.updateTable('spam_policies').set({ tenant_id: tenantId }).where('scope', '=', 'domain').where('scope_id', '=', domainId).execute();
    d = (await decide('rcpt@spamfacts.test')).decision!;
    expect(d.policyKey).toBe(`${tenantId}/${domainId}`);
    expect(d.policy).toEqual({ junkScore: 2, rejectScore: 12, greylisting: true, failMode: 'accept', ownerLists: false });
  });

  it('lists: the mailbox entry wins over the tenant one', async () => {
    const entry = (id: string, mailbox: string | null, kind: 'allow' | 'block', value: string, valueType: string) => ({
      id,
      tenant_id: tenantId,
      mailbox_id: mailbox,
      kind,
      value,
      value_type: valueType,
      reason: null,
      created_by: null,
      created_at: Date.now(),
    });
    await core.db
      .insertInto('spam_lists')
      .values(entry('spl_t1', null, 'block', 'sender.example', 'domain'))
      .execute();
    expect((await decide('rcpt@spamfacts.test')).decision!.listed).toBe('block');
    expect((await decide('nobody@spamfacts.test')).decision!.listed).toBe('block');
    await core.db
      .insertInto('spam_lists')
      .values(entry('spl_m1', mailboxId, 'allow', '192.0.2.0/24', 'ip'))
      .execute();
    expect((await decide('rcpt@spamfacts.test')).decision!.listed).toBe('allow');
    expect((await decide('rcpt@spamfacts.test', 'a@other.example', '198.51.100.1')).decision!.listed).toBeNull();
  });
});
