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
  /** Number of events checked. */
  events: number;
  /** The first event (sequence number) at which the chain breaks: edited, inserted or missing. */
  firstBadEventId?: number;
}

/** Recomputes the whole chain. Reads in pages; does not hold a transaction open across pages. */
export async function verifyAuditChain(db: Kysely<DB>): Promise<AuditVerification> {
  const audit = repos(db, PLATFORM_SCOPE).audit;
  const head = await audit.head();
  let prev = AUDIT_GENESIS_HASH;
  let expectedId = 1;
  let events = 0;
  const PAGE = 1000;
  for (;;) {
    const rows = await audit.chainPage(expectedId, PAGE);
    for (const r of rows) {
      const id = Number(r.id);
      if (id !== expectedId) return { ok: false, events, firstBadEventId: expectedId };
      const { hash, ...rest } = r;
      if (r.prev_hash !== prev || auditHash(prev, rest) !== hash) return { ok: false, events, firstBadEventId: id };
      prev = hash;
      expectedId++;
      events++;
    }
    if (rows.length < PAGE) break;
  }
  if (!head) return { ok: false, events, firstBadEventId: 1 };
  if (head.seq !== events || head.hash !== prev) return { ok: false, events, firstBadEventId: expectedId };
  return { ok: true, events };
}

/** `appendAudit` in the transaction a `Repos.transaction` callback runs in. */
export function appendAuditIn(t: Repos, actor: Actor, input: AuditInput, now: number): Promise<number> {
  return appendAudit(trxOf(t), actor, input, now);
}
