/**
 * The appliance side of the Haraka child's calls (see appliance/rpc/protocol.ts).
 */
import type { RecipientRouter } from '../core/routing.js';
import type { Logger } from '../logger.js';
import type { DeliveryTarget } from '../mailstore/ingest.js';
import type { SqlMailStore } from '../mailstore/store.js';
import type { Handler } from '../rpc/channel.js';
import type { DeliverParams, DeliverResult, RcptCheckParams, RcptCheckResult } from '../rpc/protocol.js';

export function mtaRpcHandlers(deps: { router: RecipientRouter; store: SqlMailStore; logger: Logger }): Record<string, Handler> {
  const log = deps.logger.child({ service: 'delivery' });
  return {
    ping: () => ({ ok: true }),

    'rcpt.check': async (p: RcptCheckParams): Promise<RcptCheckResult> => {
      const r = await deps.router.resolve(String(p.address), typeof p.size === 'number' ? p.size : undefined);
      return r.ok ? { ok: true, mailboxIds: r.mailboxes.map((m) => m.id) } : { ok: false, refusal: r.refusal };
    },

    'mail.deliver': async (p: DeliverParams): Promise<DeliverResult> => {
      const started = process.hrtime.bigint();
      const targets: DeliveryTarget[] = [];
      const delivered: Array<{ address: string; mailboxId: string; uid: number }> = [];
      const skipped: string[] = [];
      const seen = new Set<string>();
      const addressOf: string[] = [];
      for (const rcpt of p.recipients) {
        const r = await deps.router.resolve(rcpt.address, undefined, { forDelivery: true });
        if (!r.ok) {
          skipped.push(rcpt.address);
          continue;
        }
        for (const m of r.mailboxes) {
          if (seen.has(m.id)) continue;
          seen.add(m.id);
          targets.push({ mailboxId: m.id, variant: rcpt.variant, folder: p.junk ? '\\Junk' : 'INBOX' });
          addressOf.push(rcpt.address);
        }
      }
      const results = await deps.store.ingest.commit(p.prepared, targets, { enforceQuota: false });
      results.forEach((res, i) => delivered.push({ address: addressOf[i]!, mailboxId: res.mailboxId, uid: res.uid }));
      log.info(
        {
          event: 'smtp.delivered',
          queueId: p.queueId,
          mailboxes: delivered.length,
          skipped: skipped.length,
          junk: p.junk,
          size: p.prepared.blobSize,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'message stored',
      );
      if (skipped.length) log.warn({ event: 'smtp.deliver.skipped', queueId: p.queueId, count: skipped.length }, 'recipients vanished before delivery');
      return { delivered, skipped };
    },
  };
}
