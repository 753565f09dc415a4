/** Verifying an applied batch: its report plus a delivery test to a random sample of its live mailboxes (routing, then the store's ingest path). */
import { randomBytes } from 'node:crypto';
import { repos } from '../../db/repos/index.js';
import { appendAudit } from '../audit/audit.js';
import { type PortfolioDeps, systemSender } from '../delivery/mailer.js';
import { RecipientRouter } from '../delivery/routing.js';
import { type Actor, authorize, scopeOf } from '../kernel/authz.js';
import { AppError } from '../kernel/errors.js';
import { type BatchView, batchView } from './bulk-batch.js';

export interface VerifyResult {
  batch: BatchView;
  deliveryTest: {
    sampled: number;
    results: Array<{ address: string; routable: boolean; delivered: boolean | null; error?: string }>;
  };
}

type Result = VerifyResult['deliveryTest']['results'][number];

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomBytes(4).readUInt32BE(0) % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function testMessage(deps: PortfolioDeps, batchId: string, address: string): Buffer {
  return Buffer.from(
    [
      `From: Postern <${systemSender(deps)}>`,
      `To: <${address}>`,
      `Subject: Postern delivery test (batch ${batchId})`,
      `Date: ${new Date(deps.now()).toUTCString()}`,
      `Message-ID: <verify.${randomBytes(8).toString('hex')}@${deps.config.hostname}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'This message tests delivery to your new mailbox. You can delete it.',
      '',
    ].join('\r\n'),
  );
}

/** Routes the address, then delivers a test message into the mailbox's INBOX. */
async function deliveryTest(deps: PortfolioDeps, router: RecipientRouter, batchId: string, s: { mailbox_id: string | null; address: string }): Promise<Result> {
  const route = await router.resolve(s.address, 1024);
  const routable = route.ok && route.mailboxes.some((m) => m.id === s.mailbox_id);
  if (!routable || !deps.mailIngest) return { address: s.address, routable, delivered: null, ...(routable ? {} : { error: route.ok ? 'routes elsewhere' : route.refusal }) };
  try {
    await deps.mailIngest.ingest(testMessage(deps, batchId, s.address), [{ mailboxId: s.mailbox_id!, folder: 'INBOX' }], { enforceQuota: true });
    return { address: s.address, routable, delivered: true };
  } catch (err) {
    return { address: s.address, routable, delivered: false, error: String((err as Error)?.message ?? err).slice(0, 200) };
  }
}

export async function verifyBatch(actor: Actor, deps: PortfolioDeps, batchId: string, input: { sample?: number } = {}): Promise<VerifyResult> {
  authorize(actor, 'mailboxes.create');
  const scope = scopeOf(actor);
  const r = repos(deps.db, scope);
  const b = await r.batches.get(batchId);
  if (b.state !== 'applied') throw new AppError('Conflict', `batch ${b.id} is ${b.state}; verify an applied batch`);
  const n = Math.min(Math.max(input.sample ?? 3, 1), 20);
  const sample = shuffle(await r.batches.liveCreatedMailboxes(b.id)).slice(0, n);
  const router = new RecipientRouter(deps.db);
  const results: Result[] = [];
  for (const s of sample) results.push(await deliveryTest(deps, router, b.id, s));
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await appendAudit(trx, actor, { action: 'batch.verify', targetType: 'batch', targetId: b.id, tenantId: b.tenant_id, after: { sampled: sample.length, results } }, now);
  });
  return { batch: await batchView(r, await r.batches.get(b.id)), deliveryTest: { sampled: sample.length, results } };
}
