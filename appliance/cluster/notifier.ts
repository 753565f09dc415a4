/**
 * How the nodes of a cluster tell each other what changed (new mail, flags, expunges, folder
 * changes) and whose credentials were revoked. Messages are small (ids and a MODSEQ): a receiver
 * reads the data itself, from the change journal, so a lost message costs only latency: after a
 * reconnect `onResync` callbacks catch up by MODSEQ. A node never hears its own messages.
 *
 * Two implementations: LocalNotifier (the embedded single node, the default: the in-process
 * change bus already tells every session, so nothing more is sent and the write path does no
 * extra work) and PgNotifier (pg-notifier.ts: PostgreSQL LISTEN/NOTIFY, delivered at commit).
 * A Redis or NATS notifier would implement the same interface with `transactional: false`
 * (messages published right after the commit instead of inside the transaction).
 */
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { DB } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { PgNotifier } from './pg-notifier.js';
import { Subscribers } from './wire.js';

/** Flat JSON values only: messages must stay far below PostgreSQL's 8000-byte payload limit. */
export type ClusterPayload = Record<string, string | number | boolean | null | undefined>;

export interface TopicMessage {
  topic: string;
  payload: ClusterPayload;
}

export interface ClusterNotifier {
  readonly nodeId: string;
  /** Whether any other node can hear: when false, writers skip building messages at all. */
  readonly clustered: boolean;
  /**
   * true: `publishInTransaction` sends from inside the committing transaction (delivered at
   * commit, dropped on rollback). false: callers publish right after their commit instead.
   */
  readonly transactional: boolean;
  /** Sends now (outside any transaction: after a commit, or for news that has no data). */
  publish(topic: string, payload: ClusterPayload): Promise<void>;
  /** Sends from inside `trx` (only when `transactional`). */
  publishInTransaction(trx: Kysely<DB>, messages: readonly TopicMessage[]): Promise<void>;
  /** Messages of other nodes on `topic`; returns the unsubscribe function. */
  subscribe(topic: string, fn: (payload: ClusterPayload, meta: { origin: string }) => void): () => void;
  /** Called after every reconnect (messages may have been missed meanwhile): catch up from the journal. */
  onResync(fn: () => void | Promise<void>): () => void;
  /** For /readyz: false while the listening connection is down (reconnecting). */
  state(): { ok: boolean; detail?: string };
  close(): Promise<void>;
}

export { TOPICS } from './wire.js';

/**
 * In-process nodes sharing one hub: the embedded single node (a hub of one: nothing to send),
 * or several stores on one database in one process (tests of cross-node behaviour without a
 * server). Messages reach the other members after the current task, like a network would.
 */
export class LocalHub {
  readonly members = new Set<LocalNotifier>();
}

export class LocalNotifier implements ClusterNotifier {
  readonly transactional = false;
  private readonly subs = new Subscribers();
  private closed = false;

  constructor(
    readonly nodeId: string,
    private readonly hub: LocalHub = new LocalHub(),
  ) {
    hub.members.add(this);
  }

  get clustered(): boolean {
    return this.hub.members.size > 1;
  }

  async publish(topic: string, payload: ClusterPayload): Promise<void> {
    if (this.closed || this.hub.members.size < 2) return;
    const copy = JSON.parse(JSON.stringify(payload)) as ClusterPayload;
    setImmediate(() => {
      for (const m of this.hub.members) if (m !== this) m.subs.dispatch(topic, copy, this.nodeId, () => undefined);
    });
  }

  async publishInTransaction(): Promise<void> {
    throw new Error('the local notifier is not transactional: publish after the commit');
  }

  subscribe(topic: string, fn: (payload: ClusterPayload, meta: { origin: string }) => void): () => void {
    return this.subs.add(topic, fn);
  }

  onResync(fn: () => void | Promise<void>): () => void {
    return this.subs.addResync(fn);
  }

  state(): { ok: boolean; detail?: string } {
    return { ok: true, detail: this.clustered ? 'in-process' : 'single node' };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.members.delete(this);
  }
}

/** The configured notifier: PostgreSQL LISTEN/NOTIFY on a shared database, else the local one. */
export async function createNotifier(config: Pick<Config, 'nodeId' | 'storage'>, db: Kysely<DB>, logger?: Logger): Promise<ClusterNotifier> {
  if (!config.storage.databaseUrl) return new LocalNotifier(config.nodeId);
  return PgNotifier.start({ url: config.storage.databaseUrl, db, nodeId: config.nodeId, logger });
}
