/**
 * Where the control plane keeps its Idempotency-Key answers (control/plugins/idempotency.ts):
 * in memory on one node (answers that may hold a secret shown once never reach the disk), in the
 * shared database on a cluster (issue 17: a retry may reach another node), the answer sealed
 * with the appliance's secrets key (secret-box.ts; every node of a cluster shares that key).
 */
import { type Executor, repos } from '../../db/repos/index.js';
import type { CoreDeps } from '../deps.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';
import { openSecret, sealSecret } from './secret-box.js';

export type IdempotencyBegin =
  { state: 'claimed' } | { state: 'running'; fingerprint: string } | { state: 'done'; fingerprint: string; status: number; contentType: string | undefined; payload: string };

export interface IdempotencyStore {
  /** Claims the key for a new request, or says what the unexpired entry under it is. */
  begin(key: string, fingerprint: string, now: number, expiresAt: number): Promise<IdempotencyBegin>;
  complete(key: string, status: number, contentType: string | undefined, payload: string): Promise<void>;
  /** Forgets the key (a 5xx, an unsendable answer; `onlyRunning`: an aborted request). */
  forget(key: string, onlyRunning: boolean): Promise<void>;
}

const MAX_ENTRIES = 10_000;

type Entry = { state: 'running'; fingerprint: string; expiresAt: number } | { state: 'done'; fingerprint: string; expiresAt: number; status: number; contentType: string | undefined; payload: string };

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  async begin(key: string, fingerprint: string, now: number, expiresAt: number): Promise<IdempotencyBegin> {
    const found = this.entries.get(key);
    if (found && found.expiresAt > now) {
      if (found.state === 'running') return { state: 'running', fingerprint: found.fingerprint };
      return { state: 'done', fingerprint: found.fingerprint, status: found.status, contentType: found.contentType, payload: found.payload };
    }
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    while (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { state: 'running', fingerprint, expiresAt });
    return { state: 'claimed' };
  }

  async complete(key: string, status: number, contentType: string | undefined, payload: string): Promise<void> {
    const e = this.entries.get(key);
    if (e) this.entries.set(key, { state: 'done', fingerprint: e.fingerprint, expiresAt: e.expiresAt, status, contentType, payload });
  }

  async forget(key: string, onlyRunning: boolean): Promise<void> {
    if (!onlyRunning || this.entries.get(key)?.state === 'running') this.entries.delete(key);
  }
}

export class SharedIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: Executor) {}

  private get repo() {
    return repos(this.db, PLATFORM_SCOPE).idempotency;
  }

  async begin(key: string, fingerprint: string, now: number, expiresAt: number): Promise<IdempotencyBegin> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.repo.claim(key, fingerprint, now, expiresAt)) return { state: 'claimed' };
      const row = await this.repo.find(key);
      if (!row || row.expires_at <= now) continue; // forgotten or expired in between: claim again
      if (row.state !== 'done' || row.payload === null || row.status === null) return { state: 'running', fingerprint: row.fingerprint };
      return { state: 'done', fingerprint: row.fingerprint, status: row.status, contentType: row.content_type ?? undefined, payload: openSecret(row.payload) };
    }
    return { state: 'running', fingerprint: '' };
  }

  complete(key: string, status: number, contentType: string | undefined, payload: string): Promise<void> {
    return this.repo.complete(key, status, contentType ?? null, sealSecret(payload));
  }

  forget(key: string, onlyRunning: boolean): Promise<void> {
    return this.repo.remove(key, onlyRunning);
  }
}

/** The store of a node: in memory alone, in the shared database in a cluster. */
export function idempotencyStore(core: Pick<CoreDeps, 'db'>, shared: boolean): IdempotencyStore {
  return shared ? new SharedIdempotencyStore(core.db) : new MemoryIdempotencyStore();
}
