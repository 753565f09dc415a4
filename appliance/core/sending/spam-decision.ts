/**
 * What the MTA asks about spam (no actor: the appliance itself), never revealing anything of
 * another tenant: at RCPT, the recipient's own tenant, domain, policy and list hits; for an
 * authenticated submission, the sender's tenant policy. The same queries per recipient as
 * before the repositories: domain, mailbox, policy (domain then tenant), list entries.
 */
import { type Executor, repos } from '../../db/repos/index.js';
import type { SpamRepo } from '../../db/repos/spam.js';
import { notFound } from '../kernel/errors.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { type ListKind, listMatches } from './spam-lists.js';
import { defaultSpamPolicy, effectiveSpamPolicy, policyValues, type SpamDefaults, type SpamPolicyValues } from './spam-policy.js';

/** One platform-scope repository per database, so a recipient costs its queries and nothing else. */
const servingRepos = new WeakMap<Executor, SpamRepo>();

function servingRepo(db: Executor): SpamRepo {
  let repo = servingRepos.get(db);
  if (!repo) servingRepos.set(db, (repo = repos(db, PLATFORM_SCOPE).spam));
  return repo;
}

export interface RecipientSpamDecision {
  tenantId: string;
  domainId: string;
  mailboxId: string | null;
  /** Recipients of one transaction share one policy: tenant + the scope that decided it. */
  policyKey: string;
  policy: SpamPolicyValues;
  /** block: refuse this recipient; allow: deliver past greylisting and spam verdicts. A mailbox's entry wins over the tenant's; block wins at equal level. */
  listed: ListKind | null;
}

/**
 * For the MTA at RCPT: the recipient's tenant and policy, and whether the sender or client IP is
 * on the recipient mailbox's or tenant's lists. null for an address we do not host.
 */
export async function spamDecisionFor(db: Executor, defaults: SpamDefaults, input: { address: string; sender: string; ip: string }): Promise<RecipientSpamDecision | null> {
  const repo = servingRepo(db);
  const address = input.address.toLowerCase();
  const domainName = address.slice(address.lastIndexOf('@') + 1);
  // Domain, mailbox and both policy rows in one statement (issue 18); chosen as effectiveSpamPolicy chooses.
  const facts = await repo.recipientFacts(address, domainName);
  if (!facts) return null;
  const { domain } = facts;
  const mailbox = facts.mailboxId === null ? undefined : { id: facts.mailboxId };
  const own = facts.domainPolicy && facts.domainPolicy.tenant_id === domain.tenant_id ? facts.domainPolicy : null;
  const policy = own
    ? { ...policyValues(own), scope: 'domain' as const }
    : facts.tenantPolicy
      ? { ...policyValues(facts.tenantPolicy), scope: 'tenant' as const }
      : { ...defaultSpamPolicy(defaults), scope: 'default' as const };
  const entries = await repo.entriesFor(domain.tenant_id, mailbox?.id ?? null);
  const hits = entries.filter((e) => listMatches(e, input.sender, input.ip));
  const pick = (level: 'mailbox' | 'tenant'): ListKind | null => {
    const at = hits.filter((e) => (level === 'mailbox' ? e.mailbox_id !== null : e.mailbox_id === null));
    if (at.some((e) => e.kind === 'block')) return 'block';
    if (at.some((e) => e.kind === 'allow')) return 'allow';
    return null;
  };
  return {
    tenantId: domain.tenant_id,
    domainId: domain.id,
    mailboxId: mailbox?.id ?? null,
    policyKey: `${domain.tenant_id}/${policy.scope === 'domain' ? domain.id : '*'}`,
    policy: { junkScore: policy.junkScore, rejectScore: policy.rejectScore, greylisting: policy.greylisting, failMode: policy.failMode, ownerLists: policy.ownerLists },
    listed: pick('mailbox') ?? pick('tenant'),
  };
}

/** The sender's tenant policy for scanning an authenticated submission. */
export async function submissionSpamPolicy(db: Executor, defaults: SpamDefaults, mailboxId: string): Promise<SpamPolicyValues & { tenantId: string }> {
  const repo = servingRepo(db);
  const m = await repo.mailboxPlace(mailboxId);
  if (!m) throw notFound('mailbox');
  const p = await effectiveSpamPolicy(repo, defaults, m.tenant_id, m.domain_id);
  return { tenantId: m.tenant_id, junkScore: p.junkScore, rejectScore: p.rejectScore, greylisting: false, failMode: p.failMode, ownerLists: p.ownerLists };
}
