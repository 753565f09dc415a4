/**
 * The core's one local delivery (core/delivery: planDelivery/deliver) over the real router, the
 * real mail store and the real forwards (SendingPolicy): aliases, forwards with SRS targets,
 * keep-copy, loop detection, vanished recipients and the per-recipient result, for a message
 * prepared by the SMTP child and for the appliance's own raw mail alike.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDeliveryDeps } from '../../appliance/core/delivery/delivery-deps.js';
import { deliver, planDelivery } from '../../appliance/core/delivery/deliver.js';
import type { DeliveryDeps } from '../../appliance/core/delivery/delivery.types.js';
import { SendingPolicy } from '../../appliance/core/sending/sending.js';
import { Srs } from '../../appliance/core/sending/srs.js';
import { prepareMessage } from '../../appliance/mailstore/ingest.js';
import { createTestCore, type TestCore } from '../helpers/core.js';

const msg = (subject: string) =>
  Buffer.from(
    `From: Sender <sender@elsewhere.test>\r\nTo: ann@deliver.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@elsewhere.test>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\nHello.\r\n`,
  );

describe('core delivery (planDelivery / deliver)', () => {
  let core: TestCore;
  let ann: { id: string; address: string };
  let bob: { id: string; address: string };
  let deps: DeliveryDeps;
  let counted: string[];
  let seq = 0;

  async function forward(mailboxId: string, target: string, opts: { external: boolean; keepCopy?: boolean }) {
    const tenant = await core.db.selectFrom('mailboxes').select('tenant_id').where('id', '=', mailboxId).executeTakeFirstOrThrow();
    await core.db
      .insertInto('forwards')
      .values({
        id: `fwd_test${++seq}`,
        tenant_id: tenant.tenant_id,
        mailbox_id: mailboxId,
        target,
        external: opts.external ? 1 : 0,
        keep_copy: opts.keepCopy ? 1 : 0,
        reason: null,
        created_by: 'test',
        created_at: Date.now(),
        expires_at: null,
        last_used_at: null,
      })
      .execute();
  }

  async function inboxSubjects(mailboxId: string): Promise<string[]> {
    const inbox = (await core.store.getFolder(mailboxId, 'INBOX'))!;
    const entries = await core.store.listMessages(inbox.id);
    const meta = await core.store.getMeta(entries.map((e) => e.messageId));
    return entries.map((e) => meta.get(e.messageId)!.subject);
  }

  beforeAll(async () => {
    core = await createTestCore();
    ann = await core.createMailbox('ann@deliver.test', 'Correct-Horse-42');
    bob = await core.createMailbox('bob@deliver.test', 'Correct-Horse-43');
    const sending = new SendingPolicy(core.db);
    deps = createDeliveryDeps({ router: core.router, store: core.store.ingest, sending, metrics: { localDeliveries: (ids) => counted.push(...ids) } });
  });
  afterAll(async () => core?.close());
  beforeEach(async () => {
    counted = [];
    await core.db.deleteFrom('forwards').execute();
  });

  it('stores a prepared (SMTP) message in each recipient mailbox, durably, and counts one copy per tenant', async () => {
    const prepared = await prepareMessage(core.blobs, msg('smtp-plain'), ['Delivered-To: ann@deliver.test\r\n', 'Delivered-To: bob@deliver.test\r\n']);
    const r = await deliver(deps, {
      message: { prepared },
      recipients: [
        { address: 'ann@deliver.test', variant: 0 },
        { address: 'bob@deliver.test', variant: 1 },
      ],
      sender: 'sender@elsewhere.test',
      junk: false,
      deliveredTo: [],
      autoReplyEligible: false,
    });
    expect(r.delivered.map((d) => [d.address, d.mailboxId])).toEqual([
      ['ann@deliver.test', ann.id],
      ['bob@deliver.test', bob.id],
    ]);
    expect(r.skipped).toEqual([]);
    expect(r.relay).toEqual([]);
    expect(counted).toHaveLength(2);
    expect(await inboxSubjects(ann.id)).toContain('smtp-plain');
    expect(await inboxSubjects(bob.id)).toContain('smtp-plain');
  });

  it('follows forwards: internal ones store in the target, external ones relay with an SRS sender in the mailbox domain, no copy without keep-copy', async () => {
    await forward(ann.id, 'bob@deliver.test', { external: false });
    await forward(ann.id, 'friend@remote.test', { external: true });
    const r = await deliver(deps, {
      message: { raw: msg('forwarded') },
      recipients: [{ address: 'ann@deliver.test', variant: 0 }],
      sender: 'sender@elsewhere.test',
      junk: false,
      deliveredTo: [],
      autoReplyEligible: false,
    });
    expect(r.delivered.map((d) => d.mailboxId)).toEqual([bob.id]);
    expect(r.relay).toHaveLength(1);
    expect(r.relay[0]!.recipients).toEqual(['friend@remote.test']);
    expect(r.relay[0]!.sender).toMatch(/^SRS0=.*@deliver\.test$/i);
    expect(new Srs(await new SendingPolicy(core.db).srsSecret()).reverse(r.relay[0]!.sender)).toBe('sender@elsewhere.test');
    expect(r.recipients).toEqual([{ address: 'ann@deliver.test', status: 'delivered', mailboxIds: [bob.id], forwardedTo: ['friend@remote.test'], loops: [] }]);
    expect(await inboxSubjects(ann.id)).not.toContain('forwarded');
    expect(await inboxSubjects(bob.id)).toContain('forwarded');
    const used = await core.db.selectFrom('forwards').select('last_used_at').execute();
    expect(used.every((f) => f.last_used_at !== null)).toBe(true);
  });

  it('keeps a copy when a forward asks for it; the null sender relays with the null sender', async () => {
    await forward(ann.id, 'friend@remote.test', { external: true, keepCopy: true });
    const r = await deliver(deps, { message: { raw: msg('kept') }, recipients: [{ address: 'ann@deliver.test', variant: 0 }], sender: '', junk: false, deliveredTo: [], autoReplyEligible: false });
    expect(r.delivered.map((d) => d.mailboxId)).toEqual([ann.id]);
    expect(r.relay).toEqual([{ sender: '', recipients: ['friend@remote.test'] }]);
    expect(await inboxSubjects(ann.id)).toContain('kept');
  });

  it('does not forward again from an address the message already passed through (loop), and stores it there instead', async () => {
    await forward(ann.id, 'friend@remote.test', { external: true });
    const plan = await planDelivery(deps, { recipients: [{ address: 'ann@deliver.test', variant: 0 }], junk: true, deliveredTo: ['Ann@Deliver.test'] });
    expect(plan.relay.size).toBe(0);
    expect(plan.copies).toEqual([{ mailboxId: ann.id, tenantId: expect.any(String), variant: 0, folder: '\\Junk', recipient: 'ann@deliver.test' }]);
    expect(plan.recipients[0]!.loops).toEqual([ann.id]);
  });

  it('reports a recipient that vanished since RCPT as skipped and stores nothing for it', async () => {
    const r = await deliver(deps, {
      message: { raw: msg('vanished') },
      recipients: [{ address: 'gone@deliver.test', variant: 0 }],
      sender: 'sender@elsewhere.test',
      junk: false,
      deliveredTo: [],
      autoReplyEligible: false,
    });
    expect(r).toMatchObject({ delivered: [], skipped: ['gone@deliver.test'], relay: [], recipients: [{ address: 'gone@deliver.test', status: 'skipped', mailboxIds: [] }] });
    expect(counted).toEqual([]);
  });
});
