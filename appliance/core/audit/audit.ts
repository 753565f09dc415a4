/**
 * The tamper-evident audit log. Every state change of the control plane appends one event in
 * the same transaction as the change. Events form one hash chain per appliance:
 *
 *   hash = sha256(prev_hash + "\n" + canonical(row))
 *
 * where canonical(row) is the JSON array of the row's columns in a fixed order (id included,
 * hash excluded). The chain head (audit_head: last sequence number and hash) is updated first
 * by every appender, which serializes appenders on any database and lets verification detect
 * a deleted tail. Secrets never enter an event: `redactSecrets` drops them by key name.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema.js';
import type { AuditEvent } from '../../db/tables/control.table.js';
import { type Repos, repos, trxOf } from '../../db/repos/index.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { type Actor, auditActorType } from '../kernel/authz.js';

export const AUDIT_GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
  action: string;
  targetType: string;
  targetId: string | null;
  /** Tenant the event belongs to (null: platform event). */
  tenantId: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  reason?: string | null;
  approvalId?: string | null;
}

const SECRET_KEY = /pass(word)?|secret|token|private|hash|cookie|authorization/i;

/** A copy of `value` without keys that name secrets (passwords, tokens, private keys, hashes). */
export function redactSecrets(value: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (value === null || value === undefined) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEY.test(k)) continue;
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? redactSecrets(v as Record<string, unknown>) : v;
  }
  return out;
}

type ChainRow = Omit<AuditEvent, 'hash'>;

/**
 * The columns of the canonical row, in order (the first two are numbers): what canonicalAuditRow
 * builds by hand, and what the off-thread check (db/audit-chain-thread.ts) reads in this order.
 */
export const AUDIT_CHAIN_COLUMNS = [
  'id',
  'at',
  'tenant_id',
  'actor_type',
  'actor_id',
  'token_id',
  'source_ip',
  'user_agent',
  'action',
  'target_type',
  'target_id',
  'before',
  'after',
  'reason',
  'request_id',
  'approval_id',
  'prev_hash',
] as const satisfies ReadonlyArray<keyof ChainRow>;

/** The canonical text of a row: its columns in a fixed order, numbers normalized (PostgreSQL returns bigint as string). */
export function canonicalAuditRow(r: ChainRow): string {
  return JSON.stringify([
    Number(r.id),
    Number(r.at),
    r.tenant_id,
    r.actor_type,
    r.actor_id,
    r.token_id,
    r.source_ip,
    r.user_agent,
    r.action,
    r.target_type,
    r.target_id,
    r.before,
    r.after,
    r.reason,
    r.request_id,
    r.approval_id,
    r.prev_hash,
  ]);
}

export function auditHash(prevHash: string, row: ChainRow): string {
  return createHash('sha256').update(prevHash).update('\n').update(canonicalAuditRow(row)).digest('hex');
}

/**
 * Text as the database stores it: a lone UTF-16 surrogate cannot be encoded in UTF-8, and SQLite
 * would store U+FFFD in its place, so the hash (taken of what is stored) would never verify.
 * Replaced here, before hashing and storing. (JSON.stringify already escapes lone surrogates.)
 */
export function wellFormed<T extends string | null | undefined>(s: T): T {
  return (typeof s === 'string' ? s.replace(LONE_SURROGATE, '\uFFFD') : s) as T;
}
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Appends one event to the chain. Call inside the transaction that makes the change. Returns the event id. */
export async function appendAudit(trx: Transaction<DB>, actor: Actor, input: AuditInput, at: number): Promise<number> {
  // The chain is one per appliance: appended in the platform scope.
  const audit = repos(trx, PLATFORM_SCOPE).audit;
  // Take the chain head first: this row update is the lock that orders appenders.
  const head = await audit.takeHead();
  const before = redactSecrets(input.before);
  const after = redactSecrets(input.after);
  const row: ChainRow = {
    id: head.seq,
    at,
    tenant_id: wellFormed(input.tenantId),
    actor_type: auditActorType(actor),
    actor_id: wellFormed(actor.principalId),
    token_id: wellFormed(actor.tokenId),
    source_ip: wellFormed(actor.origin?.sourceIp ?? null),
    user_agent: wellFormed(actor.origin?.userAgent ?? null),
    action: wellFormed(input.action),
    target_type: wellFormed(input.targetType),
    target_id: wellFormed(input.targetId),
    before: before ? JSON.stringify(before) : null,
    after: after ? JSON.stringify(after) : null,
    reason: wellFormed(input.reason ?? null),
    request_id: wellFormed(actor.origin?.requestId ?? null),
    approval_id: wellFormed(input.approvalId ?? null),
    prev_hash: head.hash,
  };
  const hash = auditHash(head.hash, row);
  await audit.insert({ ...row, hash });
  await audit.setHeadHash(hash);
  return row.id;
}

export interface AuditVerification {
  ok: boolean;
  /** Number of events the verification covers (from the first event, the verified prefix included). */
  events: number;
  /** The first event (sequence number) at which the chain breaks: edited, inserted or missing. */
  firstBadEventId?: number;
}

/** Events read and hashed between two yields to the event loop (a few milliseconds of work). */
const VERIFY_BATCH = 250;
/** More events than this to check: on a thread of its own where the engine allows (SQLite file). */
const OFF_THREAD_MIN = 1000;
/** The scheduled verification reads the whole chain again when the last full pass is older (persisted). */
export const FULL_VERIFY_EVERY_MS = 24 * 60 * 60_000;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

type ChainResult = AuditVerification & { head?: { seq: number; hash: string } };

/**
 * Verifies the events after `fromSeq` (whose hash is `prevHash`) up to the head. A long stretch
 * on SQLite runs on a worker thread with its own read-only connection and one snapshot (the
 * loop only waits for the answer); otherwise here, in bounded batches with a yield to the event
 * loop between them, so requests are served while a long chain is checked. Events appended
 * meanwhile are left to the next run.
 */
async function verifyFrom(db: Kysely<DB>, fromSeq: number, prevHash: string): Promise<ChainResult> {
  const audit = repos(db, PLATFORM_SCOPE).audit;
  const head = await audit.head();
  if (!head) return { ok: false, events: fromSeq, firstBadEventId: fromSeq + 1 };
  if (head.seq - fromSeq > OFF_THREAD_MIN) {
    const off = audit.verifyOffThread(AUDIT_CHAIN_COLUMNS, fromSeq, prevHash);
    if (off) return off;
  }
  let prev = prevHash;
  let expectedId = fromSeq + 1;
  while (expectedId <= head.seq) {
    const rows = await audit.chainPage(expectedId, VERIFY_BATCH, head.seq);
    if (rows.length === 0) break;
    for (const r of rows) {
      const id = Number(r.id);
      if (id !== expectedId) return { ok: false, events: expectedId - 1, firstBadEventId: expectedId };
      const { hash, ...rest } = r;
      if (r.prev_hash !== prev || auditHash(prev, rest) !== hash) return { ok: false, events: id - 1, firstBadEventId: id };
      prev = hash;
      expectedId++;
    }
    await yieldToLoop();
  }
  // a missing tail (events deleted after the last one found) or a head that does not match
  if (expectedId - 1 !== head.seq || head.hash !== prev) return { ok: false, events: expectedId - 1, firstBadEventId: expectedId };
  // an event past the head that no appender took a sequence number for (appenders commit the head with the event)
  const last = await audit.lastEventId();
  if (last !== undefined && last > head.seq) {
    const now = await audit.head();
    if (!now || last > now.seq) return { ok: false, events: head.seq, firstBadEventId: head.seq + 1 };
  }
  return { ok: true, events: head.seq, head };
}

const answer = (r: ChainResult): AuditVerification => ({ ok: r.ok, events: r.events, ...(r.firstBadEventId !== undefined ? { firstBadEventId: r.firstBadEventId } : {}) });

/** Recomputes the whole chain from its first event (on demand: API, CLI; scheduled once a day); records the verified head. */
export async function verifyAuditChain(db: Kysely<DB>, now = Date.now()): Promise<AuditVerification> {
  const r = await verifyFrom(db, 0, AUDIT_GENESIS_HASH);
  if (r.ok && r.head) await repos(db, PLATFORM_SCOPE).audit.saveVerifiedCheckpoint(r.head.seq, r.head.hash, now, now);
  return answer(r);
}

/**
 * Verifies only the events appended since the last verified head (persisted in the database, so
 * a restart does not start over), then records the new head. What it guarantees for the
 * verified prefix: its last event must still hash to the recorded checkpoint hash, so a
 * rewrite of verified history that keeps the chain consistent (every later hash recomputed)
 * changes that event and is found here; an edit of an earlier event that leaves the hashes
 * inconsistent is found by the next full verification (verifyAuditChain: on demand, and the
 * scheduled one at least once a day). Without a checkpoint, a full verification.
 */
export async function verifyAuditChainSince(db: Kysely<DB>, now = Date.now()): Promise<AuditVerification> {
  const audit = repos(db, PLATFORM_SCOPE).audit;
  const cp = await audit.verifiedCheckpoint();
  if (!cp || cp.seq === 0) return verifyAuditChain(db, now);
  if ((await audit.hashOf(cp.seq)) !== cp.hash) return { ok: false, events: cp.seq - 1, firstBadEventId: cp.seq };
  const r = await verifyFrom(db, cp.seq, cp.hash);
  if (r.ok && r.head && r.head.seq !== cp.seq) await audit.saveVerifiedCheckpoint(r.head.seq, r.head.hash, now, cp.fullAt);
  return answer(r);
}

/**
 * The scheduled verification (at boot and every POSTERN_AUDIT_VERIFY_INTERVAL_SECONDS): the
 * events since the checkpoint, or the whole chain when the last full pass recorded in the
 * database is older than `fullEveryMs` (or was never made). A restart therefore does not read
 * the whole chain again: the boot's verification is incremental like the others.
 */
export async function verifyAuditChainScheduled(db: Kysely<DB>, now = Date.now(), fullEveryMs = FULL_VERIFY_EVERY_MS): Promise<AuditVerification & { full: boolean }> {
  const cp = await repos(db, PLATFORM_SCOPE).audit.verifiedCheckpoint();
  const full = !cp || cp.fullAt === undefined || now - cp.fullAt >= fullEveryMs;
  const r = full ? await verifyAuditChain(db, now) : await verifyAuditChainSince(db, now);
  return { ...r, full };
}

/** `appendAudit` in the transaction a `Repos.transaction` callback runs in. */
export function appendAuditIn(t: Repos, actor: Actor, input: AuditInput, now: number): Promise<number> {
  return appendAudit(trxOf(t), actor, input, now);
}
