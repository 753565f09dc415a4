/**
 * Learning from users (issue 15): a message moved or copied into the Junk folder (IMAP MOVE,
 * COPY then EXPUNGE, or any client), or flagged `$Junk`, teaches rspamd spam; moved out of Junk
 * (not into Trash) or flagged `$NotJunk` teaches ham. Statistics are per tenant: every learn
 * names `Deliver-To: tenant:<id>`, the key of rspamd's per-user Bayes, the same key the MTA
 * scans with, so one tenant's users never train another tenant's filter.
 *
 * A message APPENDed into Junk (a client moving it from another account) is learned as spam
 * when it carries the `$Junk` keyword, the client's own statement that the user judged it spam.
 * A bare APPEND into Junk is not learned: the store's events cannot tell it from the MTA's own
 * delivery of a junked message (the filter would train on its own verdicts), and bulk APPENDs
 * (migrations, restores, offline sync) upload another filter's unreviewed Junk folder.
 *
 * The learner subscribes to the mail store's change notifications (fired after commit) and
 * only queues there; the work (reading the message, the HTTP call to rspamd's controller) runs
 * later, one learn at a time, so an IMAP command never waits for it.
 *
 * Layer: a serving-layer adapter beside the mail store (it reacts to the store's events and
 * calls rspamd), neither protocol nor domain core. It builds no SQL: what it reads about folders
 * comes through `LearnerLookups`, which main hands it (the spam repository, platform scope).
 */
import type { Logger } from '../logger.js';
import type { SqlMailStore } from '../mailstore/store.js';
import type { FolderEvent } from '../mailstore/store.types.js';
import { countLearn } from './metrics.js';
import type { SpamScanner } from './scanner.js';

type Job =
  | { kind: 'copy'; folderId: number; sourceFolderId: number; uids: number[] }
  | { kind: 'flags'; folderId: number; uids: number[] }
  /** New entries not copied from a folder: an IMAP APPEND or a delivery. */
  | { kind: 'append'; folderId: number; uids: number[] };

const MAX_PENDING = 10_000;
const REMEMBER = 50_000;
/** Folders whose facts are kept (FolderFacts of INBOX and Junk folders, see `folder`). */
const KEEP_FOLDERS = 10_000;

/** What the learner reads about a folder and its entries (db/repos/spam.ts: SpamRepo). */
export interface LearnerLookups {
  learnerFolder(folderId: number): Promise<{ mailbox_id: string; special_use: string | null; name: string; tenant_id: string } | undefined>;
  learnerEntries(folderId: number, uids: number[]): Promise<Array<{ message_id: number; flags: string }>>;
}

interface FolderFacts {
  mailboxId: string;
  tenantId: string;
  junk: boolean;
  trash: boolean;
}

export class SpamLearner {
  private readonly queue: Job[] = [];
  private running = false;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  /** `<message id>:<class>` already taught (rspamd refuses repeats too; this spares the call). */
  private readonly learned = new Set<string>();
  private readonly log: Logger;
  private idleWaiters: Array<() => void> = [];
  /** Facts that cannot change, by folder id (see `folder`): oldest first. */
  private readonly fixedFolders = new Map<number, FolderFacts>();
  learnedCount = 0;

  constructor(
    private readonly lookups: LearnerLookups,
    private readonly store: SqlMailStore,
    private readonly scanner: SpamScanner,
    logger: Logger,
  ) {
    this.log = logger.child({ service: 'spam-learner' });
  }

  start(): void {
    if (!this.scanner.available) return;
    this.unsubscribe = this.store.bus.watchAll((e) => this.onEvent(e));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
  }

  /** Resolves when the queue is empty (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.running && !this.queue.length) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Called synchronously by the store after a commit: only queue. */
  private onEvent(e: FolderEvent): void {
    if (e.kind === 'deleted') this.fixedFolders.delete(e.folderId);
    else if (e.kind === 'exists' && e.sourceFolderId !== undefined) this.push({ kind: 'copy', folderId: e.folderId, sourceFolderId: e.sourceFolderId, uids: e.uids });
    else if (e.kind === 'exists') this.push({ kind: 'append', folderId: e.folderId, uids: e.uids });
    else if (e.kind === 'flags') this.push({ kind: 'flags', folderId: e.folderId, uids: e.uids });
  }

  private push(job: Job): void {
    if (this.queue.length >= MAX_PENDING) {
      this.log.warn({ event: 'spam.learn.dropped' }, 'learning queue full: change not learned');
      return;
    }
    this.queue.push(job);
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length && !this.stopped) {
        const job = this.queue.shift()!;
        await this.process(job).catch((err: unknown) => this.log.warn({ event: 'spam.learn.error', err }, 'learning failed'));
      }
    } finally {
      this.running = false;
      if (!this.queue.length) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * What the learner needs to know of a folder. Every new message (a delivery, an APPEND) asks
   * about its folder: the facts of INBOX and of a folder made with the \Junk special use are
   * kept (issue 18: a database read for every stored message). They cannot change: a folder's
   * mailbox, its mailbox's tenant and its special use are set when it is made, a \Junk folder
   * is Junk under any name, and INBOX keeps its name (RENAME INBOX moves its messages to a new
   * folder; no other folder can take the name). Any other folder is read each time, as a RENAME
   * may make it Junk or not. A deleted folder's facts go with its event.
   */
  private async folder(id: number): Promise<FolderFacts | null> {
    const known = this.fixedFolders.get(id);
    if (known) return known;
    const row = await this.lookups.learnerFolder(id);
    if (!row) return null;
    const facts: FolderFacts = {
      mailboxId: row.mailbox_id,
      tenantId: row.tenant_id,
      junk: row.special_use === '\\Junk' || /^junk$/i.test(row.name),
      trash: row.special_use === '\\Trash',
    };
    if (row.special_use === '\\Junk' || (row.name === 'INBOX' && row.special_use === null)) {
      if (this.fixedFolders.size >= KEEP_FOLDERS) this.fixedFolders.delete(this.fixedFolders.keys().next().value!);
      this.fixedFolders.set(id, facts);
    }
    return facts;
  }

  private async entries(folderId: number, uids: number[]): Promise<Array<{ messageId: number; flags: string[] }>> {
    if (!uids.length) return [];
    const rows = await this.lookups.learnerEntries(folderId, uids);
    return rows.map((r) => ({ messageId: r.message_id, flags: r.flags.split(' ').filter(Boolean) }));
  }

  private async process(job: Job): Promise<void> {
    const dest = await this.folder(job.folderId);
    if (!dest) return;
    if (job.kind === 'copy') {
      const src = await this.folder(job.sourceFolderId);
      if (!src) return;
      let kind: 'spam' | 'ham' | null = null;
      if (dest.junk && !src.junk) kind = 'spam';
      else if (src.junk && !dest.junk && !dest.trash) kind = 'ham';
      if (!kind) return;
      for (const e of await this.entries(job.folderId, job.uids)) await this.learn(kind, e.messageId, dest.tenantId);
      return;
    }
    if (job.kind === 'append') {
      // Only into Junk, only with the client's $Junk keyword (the MTA delivers without keywords).
      if (!dest.junk) return;
      for (const e of await this.entries(job.folderId, job.uids)) if (e.flags.some((f) => f.toLowerCase() === '$junk')) await this.learn('spam', e.messageId, dest.tenantId);
      return;
    }
    for (const e of await this.entries(job.folderId, job.uids)) {
      const lower = e.flags.map((f) => f.toLowerCase());
      if (lower.includes('$junk')) await this.learn('spam', e.messageId, dest.tenantId);
      else if (lower.includes('$notjunk')) await this.learn('ham', e.messageId, dest.tenantId);
    }
  }

  private async learn(kind: 'spam' | 'ham', messageId: number, tenantId: string): Promise<void> {
    const key = `${messageId}:${kind}`;
    if (this.learned.has(key)) return;
    const body = await this.store.readMessage(messageId);
    const res = await this.scanner.controller(kind === 'spam' ? '/learnspam' : '/learnham', { headers: { 'Deliver-To': `tenant:${tenantId}` }, body });
    const ok = res.status === 200 || res.status === 208;
    countLearn(kind, ok ? 'ok' : 'error', tenantId);
    if (!ok) {
      this.log.warn({ event: 'spam.learn.refused', class: kind, tenantId, status: res.status, answer: res.json }, 'rspamd did not learn the message');
      return;
    }
    this.learned.delete(`${messageId}:${kind === 'spam' ? 'ham' : 'spam'}`);
    this.learned.add(key);
    if (this.learned.size > REMEMBER) this.learned.delete(this.learned.values().next().value!);
    this.learnedCount++;
    this.log.info({ event: 'spam.learned', class: kind, tenantId }, 'message learned');
  }
}
