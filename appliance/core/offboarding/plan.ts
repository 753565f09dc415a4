/** Plan (what offboarding would have to close) and verify (what is still open after apply; must be nothing). */
import { type Actor, authorize } from '../kernel/authz.js';
import type { CoreDeps } from '../deps.js';
import { type ConvertTo, type ExportBeforeDelete, lastExportAt, mailboxInScope, type OffboardingPlan, storedOptions } from './common.js';
import { iso } from '../kernel/util.js';
import { enumerate, identitiesOf } from './enumerate.js';

/** What offboarding would have to close, for the mode `convertTo` (default disabled). */
export async function planOffboarding(
  actor: Actor,
  deps: CoreDeps,
  mailboxId: string,
  input: { convertTo?: ConvertTo; ownerLeaves?: boolean; exportBeforeDelete?: boolean } = {},
): Promise<OffboardingPlan & { export: ExportBeforeDelete }> {
  authorize(actor, 'mailboxes.read');
  const { m, r } = await mailboxInScope(actor, deps, mailboxId);
  const ctx = await identitiesOf(r, m, input.convertTo ?? 'disabled', input.ownerLeaves);
  // "Export before delete" is offered with every plan: the call that takes it and the latest one.
  const exported = { requested: input.exportBeforeDelete === true, url: `/api/v1/mailboxes/${m.id}/export?format=mbox`, lastExportAt: iso(await lastExportAt(r, m)) };
  return { mailboxId: m.id, address: m.address, identities: ctx.identities, paths: await enumerate(r, deps, m, ctx, deps.now()), export: exported };
}

/** After apply: the same enumeration, with the person as recorded at apply time; `paths` must be empty. */
export async function verifyOffboarding(actor: Actor, deps: CoreDeps, mailboxId: string): Promise<OffboardingPlan & { offboardingId: string | null; ok: boolean }> {
  authorize(actor, 'mailboxes.read');
  const { m, r } = await mailboxInScope(actor, deps, mailboxId);
  const o = await r.offboarding.latest(m.id);
  const applied = o && o.status === 'applied' ? o : null;
  const ctx = applied ? { identities: storedOptions(applied).identities, personal: storedOptions(applied).personal } : await identitiesOf(r, m, 'disabled', undefined);
  const paths = await enumerate(r, deps, m, ctx, deps.now());
  return { mailboxId: m.id, address: m.address, identities: ctx.identities, paths, offboardingId: applied ? applied.id : null, ok: paths.length === 0 };
}
