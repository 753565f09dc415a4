/**
 * Idempotency keys on POST requests of the protected API: a client that repeats a POST with the
 * same `Idempotency-Key` header (after a timeout, say) gets the first answer again, marked
 * `idempotent-replayed: true`, instead of a second mailbox or token. Keys are scoped to the
 * caller (token or principal) and route; reusing one for a different request is a 409, and so
 * is a repeat while the first is still running. 5xx answers are not kept (the client may retry).
 *
 * Kept in memory for 24 hours (at most MAX_ENTRIES): answers can hold secrets shown once (setup
 * links, tokens), which therefore never reach the disk; a restart forgets the keys.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../appliance/core/kernel/errors.js';

const HEADER = 'idempotency-key';
const TTL_MS = 24 * 3600_000;
const MAX_ENTRIES = 10_000;
const KEY_RE = /^[\x21-\x7e]{1,255}$/;

type Entry = { state: 'running'; fingerprint: string; expiresAt: number } | { state: 'done'; fingerprint: string; expiresAt: number; status: number; contentType: string | undefined; payload: string };

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey: string | null;
  }
}

export function installIdempotency(scope: FastifyInstance, now: () => number = Date.now): void {
  const entries = new Map<string, Entry>();
  const prune = (t: number) => {
    for (const [k, e] of entries) if (e.expiresAt <= t) entries.delete(k);
    while (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  };

  scope.decorateRequest('idempotencyKey', null);

  // After authentication (onRequest) and validation: the actor and the parsed body are known.
  scope.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.method !== 'POST') return;
    const raw = req.headers[HEADER];
    if (raw === undefined) return;
    if (typeof raw !== 'string' || !KEY_RE.test(raw)) throw new AppError('Invalid', 'Idempotency-Key must be 1 to 255 printable characters', { field: 'Idempotency-Key' });
    const who = req.actor ? (req.actor.tokenId ?? req.actor.principalId) : 'anonymous';
    const key = `${who}\n${req.method}\n${req.url.split('?')[0]}\n${raw}`;
    const fingerprint = createHash('sha256')
      .update(req.url)
      .update('\n')
      .update(JSON.stringify(req.body ?? null))
      .digest('hex');
    const t = now();
    const found = entries.get(key);
    if (found && found.expiresAt > t) {
      if (found.fingerprint !== fingerprint) throw new AppError('Conflict', 'this Idempotency-Key was used for a different request');
      if (found.state === 'running') throw new AppError('Conflict', 'a request with this Idempotency-Key is still in progress');
      reply.header('idempotent-replayed', 'true');
      if (found.contentType) reply.header('content-type', found.contentType);
      return reply.code(found.status).send(found.payload);
    }
    prune(t);
    entries.set(key, { state: 'running', fingerprint, expiresAt: t + TTL_MS });
    req.idempotencyKey = key;
  });

  scope.addHook('onSend', async (req, reply, payload) => {
    const key = req.idempotencyKey;
    if (!key) return payload;
    req.idempotencyKey = null;
    const entry = entries.get(key);
    if (!entry) return payload;
    if (reply.statusCode >= 500 || typeof payload !== 'string') {
      entries.delete(key);
      return payload;
    }
    const ct = reply.getHeader('content-type');
    entries.set(key, { state: 'done', fingerprint: entry.fingerprint, expiresAt: entry.expiresAt, status: reply.statusCode, contentType: typeof ct === 'string' ? ct : undefined, payload });
    return payload;
  });

  // A request that never sent (aborted) must not block its key for a day.
  scope.addHook('onResponse', async (req) => {
    if (req.idempotencyKey) {
      const e = entries.get(req.idempotencyKey);
      if (e?.state === 'running') entries.delete(req.idempotencyKey);
    }
  });
}
