/**
 * Idempotency keys on POST requests of the protected API: a client that repeats a POST with the
 * same `Idempotency-Key` header (after a timeout, say) gets the first answer again, marked
 * `idempotent-replayed: true`, instead of a second mailbox or token. Keys are scoped to the
 * caller (token or principal) and route; reusing one for a different request is a 409, and so
 * is a repeat while the first is still running. 5xx answers are not kept (the client may retry).
 *
 * Kept for 24 hours. One node: in memory (at most 10,000 keys): answers can hold secrets shown
 * once (setup links, tokens), which therefore never reach the disk; a restart forgets the keys.
 * A cluster: in the shared database, the answer sealed with the secrets key
 * (appliance/core/access/idempotency-store.ts), so a retry that reaches another node replays.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../appliance/core/kernel/errors.js';
import { type IdempotencyStore, MemoryIdempotencyStore } from '../../appliance/core/access/idempotency-store.js';

const HEADER = 'idempotency-key';
const TTL_MS = 24 * 3600_000;
const KEY_RE = /^[\x21-\x7e]{1,255}$/;

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey: string | null;
  }
}

/** `store`: in memory (one node, the default) or the shared database (a cluster: a retry may reach another node). */
export function installIdempotency(scope: FastifyInstance, now: () => number = Date.now, store: IdempotencyStore = new MemoryIdempotencyStore()): void {
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
    const found = await store.begin(key, fingerprint, t, t + TTL_MS);
    if (found.state === 'claimed') {
      req.idempotencyKey = key;
      return;
    }
    if (found.fingerprint !== fingerprint) throw new AppError('Conflict', 'this Idempotency-Key was used for a different request');
    if (found.state === 'running') throw new AppError('Conflict', 'a request with this Idempotency-Key is still in progress');
    reply.header('idempotent-replayed', 'true');
    if (found.contentType) reply.header('content-type', found.contentType);
    return reply.code(found.status).send(found.payload);
  });

  // callback hooks: requests without a key (every GET) pass without a promise
  scope.addHook('onSend', (req, reply, payload, done) => {
    const key = req.idempotencyKey;
    if (!key) return done(null, payload);
    req.idempotencyKey = null;
    const ct = reply.getHeader('content-type');
    const stored = reply.statusCode >= 500 || typeof payload !== 'string' ? store.forget(key, false) : store.complete(key, reply.statusCode, typeof ct === 'string' ? ct : undefined, payload);
    stored.then(
      () => done(null, payload),
      (err: Error) => done(err),
    );
  });

  // A request that never sent (aborted) must not block its key for a day.
  scope.addHook('onResponse', (req, _reply, done) => {
    if (!req.idempotencyKey) return done();
    store.forget(req.idempotencyKey, true).then(
      () => done(),
      (err: Error) => done(err),
    );
  });
}
