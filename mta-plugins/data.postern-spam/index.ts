/**
 * Spam and abuse defence (issue 15). Hooks only; the logic is in lib/.
 *
 * - connect: per-IP connection rate, DNS block lists (operator-chosen zones, none by default),
 *   early talkers (a client that speaks before the banner). Each counted (`spam.check`).
 * - rcpt (before the routing plugin, priority -10): the recipient's tenant policy and lists
 *   from the appliance; a blocked sender/IP is refused for that recipient (550 5.7.1); one
 *   transaction carries recipients of one policy only (452 4.5.3 for others: the client sends
 *   them in a following transaction), so a verdict never mixes tenants; recipients per IP and
 *   minute are limited.
 * - data_post: the message goes to rspamd's /checkv2 with the tenant's thresholds; reject
 *   score → 550 5.7.1 (nothing stored), junk score → X-Spam headers and the Junk folder,
 *   greylisting → 451 4.7.1. Scanner down or slow: 451 4.7.1 (tempfail) or delivered unscanned
 *   (accept), as the policy says. Authenticated submissions are scanned too; a spam verdict is
 *   refused and counted toward the mailbox's automatic send block.
 */
import { call, isSubmission, pluginSettings, type SubmissionAuth } from '../shared/appliance.js';
import { DENY, DENYDISCONNECT, DENYSOFT, dsn, type HarakaAddress, type HarakaConnection, type HarakaPlugin, type Next, safeHook } from '../shared/haraka.js';
import { prependHeader, readMessage, rewriteMessage } from '../shared/message.js';
import { stripSpamHeaders } from './lib/headers.js';
import { count } from '../shared/metrics.js';
import { createResolver, type DnsResolveFn } from '../../appliance/net/resolver.js';
import type { RecipientSpamDecision } from '../../appliance/core/sending/spam-policy.service.js';
import type { SpamResultParams } from '../../appliance/rpc/protocol.js';
import { dnsblName } from './lib/connection.js';
import { hitRate } from '../shared/limits.js';
import { leaveRcptCheck } from '../shared/rcpt-checks.js';
import { type Policy, settingsFor, spamHeaders, verdictOf } from './lib/decide.js';
import { checkv2, ScannerUnavailable } from './lib/rspamd.js';
import { type SpamReportCall, SpamReports } from './lib/reports.js';

interface TxnSpam {
  key: string;
  tenantId: string;
  policy: Policy;
  /** Every accepted recipient is allow-listed. */
  allAllowed: boolean;
}

let resolver: DnsResolveFn | null = null;

function spamSettings() {
  return pluginSettings().spam;
}

export function register(this: HarakaPlugin): void {
  this.register_hook('rcpt', 'spam_rcpt', -10);
}

export const hook_connect = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection) {
  const s = spamSettings();
  if (!s || isSubmission(connection)) return next();
  const ip = connection.remote.ip;
  if (s.connectionsPerMinute > 0) {
    const n = await hitRate('connections', ip); // of all Haraka processes (shared/limits.ts)
    if (n > s.connectionsPerMinute) {
      count('spam.check', { check: 'connection_rate', result: 'limited' });
      connection.loginfo(this, 'connection rate exceeded', { event: 'smtp.connect.rate_limited' });
      return next(DENYSOFTDISCONNECT(), dsn(421, '4.7.0', 'too many connections from your address, try again later'));
    }
    count('spam.check', { check: 'connection_rate', result: 'pass' });
  }
  if (s.dnsblZones.length) {
    resolver ??= createResolver(pluginSettings().dnsResolver, { timeoutMs: 2000, tries: 1 });
    for (const zone of s.dnsblZones) {
      const name = dnsblName(ip, zone);
      if (!name) continue;
      try {
        const answers = (await resolver(name, 'A')) as string[];
        if (answers.some((a) => a.startsWith('127.'))) {
          count('spam.check', { check: 'dnsbl', result: 'listed' });
          connection.loginfo(this, `client listed in ${zone}`, { event: 'smtp.connect.dnsbl', zone });
          return next(DENYDISCONNECT, dsn(554, '5.7.1', `your address is listed in ${zone}`));
        }
        count('spam.check', { check: 'dnsbl', result: 'pass' });
      } catch (err) {
        const code = (err as { code?: string }).code;
        count('spam.check', { check: 'dnsbl', result: code === 'ENOTFOUND' || code === 'ENODATA' ? 'pass' : 'error' });
      }
    }
  }
  if (s.earlyTalkerMs > 0) {
    await new Promise((r) => setTimeout(r, s.earlyTalkerMs));
    if ((connection as unknown as { early_talker?: boolean }).early_talker) {
      count('spam.check', { check: 'early_talker', result: 'refused' });
      connection.loginfo(this, 'client spoke before the banner', { event: 'smtp.connect.early_talker' });
      return next(DENYDISCONNECT, dsn(554, '5.7.1', 'you talked before the greeting: not a patient mail server'));
    }
    count('spam.check', { check: 'early_talker', result: 'pass' });
  }
  next();
});

// DENYSOFTDISCONNECT is not in our typed constants; Haraka's value is looked up once.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const constants = require('haraka-constants') as Record<string, number>;
function DENYSOFTDISCONNECT(): number {
  return constants.denysoftdisconnect!;
}

export const spam_rcpt = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection, params: [HarakaAddress]) {
  const s = spamSettings();
  const txn = connection.transaction;
  if (!s || !txn || isSubmission(connection) || connection.relaying) return next();
  const ip = connection.remote.ip;
  if (s.recipientsPerMinute > 0 && (await hitRate('recipients', ip)) > s.recipientsPerMinute) {
    count('spam.check', { check: 'recipient_rate', result: 'limited' });
    return next(DENYSOFT, dsn(450, '4.7.1', 'too many recipients from your address, try again later'));
  }
  const rcpt = params[0];
  const address = `${rcpt.user ?? ''}@${rcpt.host ?? ''}`.toLowerCase();
  const sender = txn.mail_from?.isNull() ? '' : txn.mail_from.address.toLowerCase();
  // With the recipient check in the same call: the routing plugin's hook takes it (shared/rcpt-checks.ts).
  const both = await call('rcpt.inbound', { address, size: txn.notes.declaredSize, sender, ip });
  if (both.check) leaveRcptCheck(txn, address, both.check);
  const d: RecipientSpamDecision | null = both.spam;
  if (!d) return next(); // not hosted: the routing plugin answers
  if (d.listed === 'block') {
    report({ direction: 'inbound', outcome: 'block', tenantId: d.tenantId, seconds: null, queueId: txn.uuid });
    connection.loginfo(this, 'sender blocked by the recipient policy', { event: 'smtp.rcpt.spam_block' });
    return next(DENY, dsn(550, '5.7.1', 'the recipient does not accept mail from this sender'));
  }
  const current = txn.notes.postern_spam as TxnSpam | undefined;
  if (current && current.key !== d.policyKey) {
    return next(DENYSOFT, dsn(452, '4.5.3', 'recipients of another organisation: send them in a separate message'));
  }
  txn.notes.postern_spam = {
    key: d.policyKey,
    tenantId: d.tenantId,
    policy: d.policy,
    allAllowed: (current ? current.allAllowed : true) && d.listed === 'allow',
  } satisfies TxnSpam;
  next();
});

/** Decisions nobody waits for leave a quarter second's worth in one call (lib/reports.ts, issue 18). */
const reports = new SpamReports(call as SpamReportCall);

/** A decision whose answer is not needed. */
function report(p: SpamResultParams): void {
  reports.later(p);
}

/**
 * Mail delivered unscanned because scanning is off: counted here and sent as one call every
 * quarter second (`spam.unscanned`), not one call per message (issue 18). The appliance counts
 * them exactly as single reports; a count of the last quarter second is lost if Haraka dies.
 */
const unscanned = new Map<string, { direction: 'inbound' | 'outbound'; tenantId: string; n: number }>();
let unscannedTimer: NodeJS.Timeout | null = null;

function countUnscanned(direction: 'inbound' | 'outbound', tenantId: string): void {
  const key = `${direction} ${tenantId}`;
  const e = unscanned.get(key);
  if (e) e.n++;
  else unscanned.set(key, { direction, tenantId, n: 1 });
  if (unscannedTimer) return;
  unscannedTimer = setTimeout(() => {
    unscannedTimer = null;
    const counts = [...unscanned.values()];
    unscanned.clear();
    call('spam.unscanned', { counts }).catch(() => undefined);
  }, 250);
}

export const hook_data_post = safeHook(async function (this: HarakaPlugin, next: Next, connection: HarakaConnection) {
  const s = spamSettings();
  const txn = connection.transaction;
  if (!s || !txn) return next();
  const submission = isSubmission(connection);
  const auth = connection.notes.postern_auth as SubmissionAuth | undefined;
  if (submission && !auth) return next();
  let target: TxnSpam | undefined = txn.notes.postern_spam as TxnSpam | undefined;
  if (submission && auth && !s.scanner) {
    // Scanning is off: only the count below, which needs the tenant alone (no policy look-up per message).
    prependHeader(txn, 'X-Spam-Status', 'unscanned (scanner off or not installed)');
    countUnscanned('outbound', auth.tenantId);
    return next();
  }
  if (submission && auth) {
    const p = await call('spam.submission', { mailboxId: auth.mailboxId });
    target = { key: `submission:${auth.mailboxId}`, tenantId: p.tenantId, policy: p, allAllowed: false };
  }
  if (!target) return next(); // only SRS bounces: nothing of a tenant's to scan for
  const direction = submission ? 'outbound' : 'inbound';
  // Our verdict is the only one the recipient sees.
  if (!submission) await rewriteMessage(txn, stripSpamHeaders);
  const base = { direction, tenantId: target.tenantId, mailboxId: auth?.mailboxId, queueId: txn.uuid } as const;
  if (!s.scanner) {
    prependHeader(txn, 'X-Spam-Status', 'unscanned (scanner off or not installed)');
    countUnscanned('inbound', target.tenantId);
    return next();
  }
  const settings = pluginSettings();
  const started = process.hrtime.bigint();
  let result;
  try {
    result = await checkv2({
      port: s.rspamdPort,
      timeoutMs: s.timeoutMs,
      message: await readMessage(txn),
      ip: connection.remote.ip,
      helo: connection.hello?.host,
      hostname: connection.remote.host && connection.remote.host !== 'DNSERROR' && connection.remote.host !== 'NXDOMAIN' ? connection.remote.host : undefined,
      from: txn.mail_from?.isNull() ? '' : txn.mail_from.address,
      rcpts: txn.rcpt_to.map((r) => r.address),
      queueId: txn.uuid,
      user: auth?.address,
      deliverTo: `tenant:${target.tenantId}`,
      settings: settingsFor(target.policy, { greylist: !submission && target.policy.greylisting && !target.allAllowed }),
    });
  } catch (err) {
    if (!(err instanceof ScannerUnavailable)) throw err;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    connection.logwarn(this, `scanner unavailable: ${err.message}`, { event: 'smtp.spam.unavailable' });
    if (target.policy.failMode === 'accept') {
      prependHeader(txn, 'X-Spam-Status', 'unscanned (scanner unavailable)');
      report({ ...base, outcome: 'unscanned', seconds });
      return next();
    }
    report({ ...base, outcome: 'tempfail', seconds });
    return next(DENYSOFT, dsn(451, '4.7.1', 'message could not be scanned, try again later'));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const verdict = verdictOf(result, target.policy);
  txn.results.add(this, { score: result.score, action: result.action, verdict, allowed: target.allAllowed });
  if (target.allAllowed && verdict !== 'greylist') {
    for (const [k, v] of spamHeaders(settings.hostname, result, 'allowed', target.policy)) prependHeader(txn, k, v);
    report({ ...base, outcome: 'clean', score: result.score, seconds });
    return next();
  }
  if (verdict === 'greylist') {
    report({ ...base, outcome: 'greylist', score: result.score, seconds });
    return next(DENYSOFT, dsn(451, '4.7.1', 'greylisted, please try again later'));
  }
  if (verdict === 'reject') {
    const r = await reports.now({ ...base, outcome: 'reject', score: result.score, seconds });
    connection.loginfo(this, 'message rejected as spam', { event: 'smtp.data.spam_reject', score: result.score });
    if (submission && r.blocked) return next(DENY, dsn(550, '5.7.1', 'message refused as spam; sending is now blocked for this mailbox'));
    return next(DENY, dsn(550, '5.7.1', 'message refused as spam'));
  }
  if (submission) {
    // An outgoing message scoring as junk is still sent: the recipient's filter decides.
    report({ ...base, outcome: verdict, score: result.score, seconds });
    return next();
  }
  for (const [k, v] of spamHeaders(settings.hostname, result, verdict, target.policy)) prependHeader(txn, k, v);
  if (verdict === 'junk') txn.notes.postern_junk = true;
  report({ ...base, outcome: verdict, score: result.score, seconds });
  next();
});
