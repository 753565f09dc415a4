/**
 * Issue 18: the reads an inbound message makes outside the store (the RCPT spam decision and
 * recipient check, the delivery plan with its forwards, the offboarding auto-reply check) are
 * compiled once per shape and scope (appliance/db/repos/prepared.ts): once warm, an RCPT and a
 * delivery compile no query, and they answer what they answered when built afresh.
 */
import { DefaultQueryCompiler } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AutoResponder } from '../../appliance/core/delivery/auto-reply.js';
import { checkRecipient } from '../../appliance/core/delivery/mail-path.js';
import { planDelivery } from '../../appliance/core/delivery/plan.js';
import { RecipientRouter } from '../../appliance/core/delivery/routing.js';
import { SendingPolicy } from '../../appliance/core/sending/sending.js';
import { spamDecisionFor } from '../../appliance/core/sending/spam-policy.service.js';
import type { Srs } from '../../appliance/core/sending/srs.js';
import { createTestApp, provisionMailbox, provisionTenant, type TestApp } from '../helpers/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
  const a = await provisionTenant(t, 'Inbound prepared A', 'inbound-prepared-a.example');
  const b = await provisionTenant(t, 'Inbound prepared B', 'inbound-prepared-b.example');
  await provisionMailbox(t, a.domainId, 'alice');
  await provisionMailbox(t, b.domainId, 'bob');
});
afterAll(async () => t.close());

async function inboundReads(address: string) {
  const db = t.core.db;
  const router = new RecipientRouter(db);
  const sending = new SendingPolicy(db);
  const srs = async () => ({ reverse: () => null }) as unknown as Srs;
  const spam = await spamDecisionFor(db, t.config.spam, { address, sender: 'someone@sender.example', ip: '192.0.2.1' });
  const check = await checkRecipient({ router, forwards: sending, srs }, address);
  const plan = await planDelivery({ router, forwards: sending }, { recipients: [{ address, variant: 0 }], junk: false, deliveredTo: [] });
  const replied = await new AutoResponder(db, { sendMail: async () => undefined }).maybeReply({ address, sender: 'someone@sender.example', subject: 's', messageId: null, eligible: true });
  return { spam, check, plan: { ...plan, relay: [...plan.relay] }, replied };
}

describe('inbound reads outside the store', () => {
  it('compile no query once warm, and answer as before for each recipient', async () => {
    const first = {
      alice: await inboundReads('alice@inbound-prepared-a.example'),
      bob: await inboundReads('bob@inbound-prepared-b.example'),
      unknown: await inboundReads('nobody@inbound-prepared-a.example'),
    };
    expect(first.alice.check).toEqual({ ok: true, mailboxIds: [expect.any(String)] });
    expect(first.bob.plan.copies.map((c) => c.recipient)).toEqual(['bob@inbound-prepared-b.example']);
    expect(first.unknown.check).toEqual({ ok: false, refusal: 'unknown' });
    expect(first.alice.spam?.tenantId).not.toBe(first.bob.spam?.tenantId);
    const compiles = vi.spyOn(DefaultQueryCompiler.prototype, 'compileQuery');
    try {
      expect(await inboundReads('bob@inbound-prepared-b.example')).toEqual(first.bob);
      expect(await inboundReads('alice@inbound-prepared-a.example')).toEqual(first.alice);
      expect(await inboundReads('nobody@inbound-prepared-a.example')).toEqual(first.unknown);
      expect(compiles.mock.calls.map((c) => c[0].kind)).toEqual([]);
    } finally {
      compiles.mockRestore();
    }
  });
});
