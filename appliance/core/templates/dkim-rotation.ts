/**
 * DKIM rotation on the template's cadence (`dkim.rotationDays`), without breaking signatures:
 * 1. the active key of an algorithm reaches the cadence → a successor is published (in DNS,
 *    not yet signing);
 * 2. once the successor is PROPAGATION_MS old and the domain's latest DNS check found its record,
 *    it becomes the signing key; the old key stays published (mail in flight still verifies);
 * 3. OVERLAP_MS after that, the old key is retired.
 * Every step goes through the audited DKIM functions of the control plane, as the system actor.
 */
import type { Actor } from '../kernel/authz.js';
import type { DkimKey } from '../../db/tables/control.table.js';
import type { CoreDeps } from '../deps.js';
import { activateDkimKey, retireDkimKey, rotateDkim } from '../sending/sending.service.js';
import { effectiveDomainSettings } from './domain-settings.js';
import { repos } from '../../db/repos/index.js';
import { scopeOf } from '../kernel/authz.js';

const DAY = 86_400_000;
export const PROPAGATION_MS = 2 * DAY;
export const OVERLAP_MS = 7 * DAY;

type Algorithm = 'rsa-sha256' | 'ed25519-sha256';

export interface RotationStep {
  domainId: string;
  algorithm: string;
  step: 'published' | 'activated' | 'retired';
  selector: string;
}

/** The domain's latest DNS check found `name` with the expected value. */
async function recordLive(deps: CoreDeps, actor: Actor, domainId: string, name: string): Promise<boolean> {
  const snap = await repos(deps.db, scopeOf(actor)).dns.latest(domainId);
  if (!snap) return false;
  const records = JSON.parse(snap.records) as Array<{ name: string; status: string }>;
  return records.some((r) => r.name.toLowerCase() === name.toLowerCase() && r.status === 'ok');
}

/** Runs the due steps for every active domain; returns what it did. */
export async function rotateDueDkimKeys(actor: Actor, deps: CoreDeps): Promise<RotationStep[]> {
  const now = deps.now();
  const steps: RotationStep[] = [];
  const r = repos(deps.db, scopeOf(actor));
  for (const domain of await r.domains.activePrimary()) {
    const { settings } = await effectiveDomainSettings(deps, domain.id);
    const keys = await r.dkim.live(domain.id);
    for (const algorithm of settings.dkim.algorithms as Algorithm[]) {
      steps.push(...(await rotateAlgorithm(actor, deps, domain, keys, algorithm, settings.dkim.rotationDays * DAY, now)));
    }
  }
  return steps;
}

/** The due steps of one algorithm of one domain (its keys oldest first). */
async function rotateAlgorithm(actor: Actor, deps: CoreDeps, domain: { id: string; name: string }, keys: DkimKey[], algorithm: Algorithm, cadence: number, now: number): Promise<RotationStep[]> {
  const steps: RotationStep[] = [];
  const active = keys.find((k) => k.algorithm === algorithm && k.status === 'active');
  if (!active) return steps; // a missing algorithm is template drift, fixed by re-applying the template
  const successor = keys.find((k) => k.algorithm === algorithm && k.status === 'published' && Number(k.created_at) > Number(active.created_at));
  const predecessors = keys.filter((k) => k.algorithm === algorithm && k.status === 'published' && Number(k.created_at) < Number(active.created_at));
  // 3. Retire predecessors once the active key has signed for the overlap period.
  const activeSince = await activatedAt(deps, actor, domain.id, active.selector, Number(active.created_at));
  for (const old of predecessors) {
    if (now - activeSince >= OVERLAP_MS) {
      await retireDkimKey(actor, deps, domain.id, old.id);
      steps.push({ domainId: domain.id, algorithm, step: 'retired', selector: old.selector });
    }
  }
  if (now - Number(active.created_at) < cadence) return steps;
  if (!successor) {
    // 1. Publish a successor.
    const [published] = await rotateDkim(actor, deps, domain.id, { algorithms: [algorithm] });
    if (published) steps.push({ domainId: domain.id, algorithm, step: 'published', selector: published.selector });
  } else if (now - Number(successor.created_at) >= PROPAGATION_MS && (await recordLive(deps, actor, domain.id, `${successor.selector}._domainkey.${domain.name}`))) {
    // 2. DNS has it: sign with it.
    await activateDkimKey(actor, deps, domain.id, successor.id);
    steps.push({ domainId: domain.id, algorithm, step: 'activated', selector: successor.selector });
  }
  return steps;
}

/** When a key became the signing key (its dkim.activate audit event), else its creation time. */
async function activatedAt(deps: CoreDeps, actor: Actor, domainId: string, selector: string, fallback: number): Promise<number> {
  const events = await repos(deps.db, scopeOf(actor)).audit.latestOfAction('dkim.activate', 'domain', domainId, 20);
  for (const e of events) {
    const after = e.after ? (JSON.parse(e.after) as { active?: string[] }) : null;
    if (after?.active?.includes(selector)) return Number(e.at);
  }
  return fallback;
}
