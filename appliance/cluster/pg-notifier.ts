/**
 * The cluster notifier on PostgreSQL LISTEN/NOTIFY: no broker beyond the database the nodes
 * share already. Sending goes through the pool (inside the committing transaction for data
 * changes, so a message is delivered at commit and never before the data); receiving uses one
 * dedicated connection per node that LISTENs on a channel per topic (postern_<topic>).
 *
 * When that connection goes away (a PostgreSQL restart, a network cut found by the heartbeat)
 * the notifier reconnects with capped exponential back-off and, once LISTEN holds again, runs
 * the `onResync` callbacks: whatever was sent while nobody listened is read back from the change
 * journal by MODSEQ (and open sessions' credentials re-checked), so nothing is missed.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { type Listener, listenChannels, notifyChannel } from '../db/notify.js';
import type { Logger } from '../logger.js';
import type { ClusterNotifier, ClusterPayload, TopicMessage } from './notifier.js';
import { decodeMessage, encodeMessage, type Subscriber, Subscribers, TOPICS } from './wire.js';

const CHANNEL_PREFIX = 'postern_';

export interface PgNotifierOptions {
  url: string;
  /** The pool used to send (outside transactions). */
  db: Kysely<DB>;
  nodeId: string;
  logger?: Logger;
  topics?: readonly string[];
  /** Back-off between reconnect attempts: from minMs doubling up to maxMs (±20% jitter). */
  backoff?: { minMs: number; maxMs: number };
  /** How often the listening connection is pinged (a silent network cut is found by it). */
  heartbeatMs?: number;
}

export class PgNotifier implements ClusterNotifier {
  readonly clustered = true;
  readonly transactional = true;
  readonly nodeId: string;
  private readonly subs = new Subscribers();
  private readonly topics: Set<string>;
  private listener: Listener | null = null;
  private connecting: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly heartbeat: NodeJS.Timeout;
  private attempts = 0;
  private lastError: string | null = null;
  private everConnected = false;
  private closed = false;
  /** Reconnects completed (tests and metrics). */
  reconnects = 0;

  private constructor(private readonly opts: PgNotifierOptions) {
    this.nodeId = opts.nodeId;
    this.topics = new Set(opts.topics ?? Object.values(TOPICS));
    this.heartbeat = setInterval(() => this.checkAlive(), opts.heartbeatMs ?? 10_000);
    this.heartbeat.unref();
  }

  /** Connects and LISTENs; when the first attempt fails it keeps retrying in the background. */
  static async start(opts: PgNotifierOptions): Promise<PgNotifier> {
    const n = new PgNotifier(opts);
    await n.connect();
    return n;
  }

  private channel(topic: string): string {
    if (!this.topics.has(topic)) throw new Error(`unknown cluster topic ${topic}`);
    return CHANNEL_PREFIX + topic;
  }

  async publish(topic: string, payload: ClusterPayload): Promise<void> {
    await notifyChannel(this.opts.db, this.channel(topic), [encodeMessage(this.nodeId, payload)]);
  }

  async publishInTransaction(trx: Kysely<DB>, messages: readonly TopicMessage[]): Promise<void> {
    const byChannel = new Map<string, string[]>();
    for (const m of messages) {
      const ch = this.channel(m.topic);
      let list = byChannel.get(ch);
      if (!list) byChannel.set(ch, (list = []));
      list.push(encodeMessage(this.nodeId, m.payload));
    }
    for (const [ch, payloads] of byChannel) await notifyChannel(trx, ch, payloads);
  }

  subscribe(topic: string, fn: Subscriber): () => void {
    this.channel(topic);
    return this.subs.add(topic, fn);
  }

  onResync(fn: () => void | Promise<void>): () => void {
    return this.subs.addResync(fn);
  }

  state(): { ok: boolean; detail?: string } {
    if (this.listener) return { ok: true, detail: 'listening' };
    return { ok: false, detail: `LISTEN connection down, reconnecting (attempt ${this.attempts})${this.lastError ? `: ${this.lastError}` : ''}` };
  }

  /** Resolves when the listening connection is up (tests). */
  async whenListening(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.listener) {
      if (Date.now() > until) throw new Error('the notifier did not reconnect');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    const l = this.listener;
    this.listener = null;
    await l?.close();
  }

  private connect(): Promise<void> {
    this.connecting ??= this.attempt().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async attempt(): Promise<void> {
    if (this.closed) return;
    let listener: Listener;
    try {
      listener = await listenChannels(
        this.opts.url,
        [...this.topics].map((t) => CHANNEL_PREFIX + t),
        { onNotification: (channel, raw) => this.receive(channel, raw), onLost: (err) => this.lost(listener, err) },
        { applicationName: `postern-listen-${this.nodeId}`.slice(0, 63) },
      );
    } catch (err) {
      this.lastError = (err as Error).message;
      this.scheduleRetry();
      return;
    }
    if (this.closed) {
      await listener.close();
      return;
    }
    this.listener = listener;
    const reconnected = this.everConnected;
    this.everConnected = true;
    this.attempts = 0;
    this.lastError = null;
    if (!reconnected) {
      this.opts.logger?.info({ event: 'cluster.listen.up', nodeId: this.nodeId }, 'listening for cluster notifications');
      return;
    }
    this.reconnects++;
    this.opts.logger?.info({ event: 'cluster.listen.resync', nodeId: this.nodeId }, 'cluster notifications resumed: catching up from the change journal');
    await this.subs.resync((err) => this.opts.logger?.error({ event: 'cluster.resync.error', err }, 'catch-up after reconnect failed'));
  }

  private lost(which: Listener, err: Error | null): void {
    if (this.listener !== which) return;
    this.listener = null;
    this.lastError = err?.message ?? 'connection closed';
    if (this.closed) return;
    this.opts.logger?.warn({ event: 'cluster.listen.down', nodeId: this.nodeId, detail: this.lastError }, 'cluster notification connection lost: reconnecting');
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const { minMs, maxMs } = this.opts.backoff ?? { minMs: 100, maxMs: 3_000 };
    const base = Math.min(maxMs, minMs * 2 ** this.attempts);
    this.attempts++;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        void this.connect();
      },
      Math.round(base * (0.8 + Math.random() * 0.4)),
    );
    this.retryTimer.unref();
  }

  private checkAlive(): void {
    const l = this.listener;
    if (!l) return;
    l.ping(5_000).catch((err: Error) => {
      void l.close();
      this.lost(l, err);
    });
  }

  private receive(channel: string, raw: string): void {
    if (!channel.startsWith(CHANNEL_PREFIX)) return;
    const msg = decodeMessage(raw);
    if (!msg) {
      this.opts.logger?.warn({ event: 'cluster.message.invalid', channel }, 'unreadable cluster notification ignored');
      return;
    }
    if (msg.origin === this.nodeId) return; // our own echo: this node told its sessions already
    this.subs.dispatch(channel.slice(CHANNEL_PREFIX.length), msg.payload, msg.origin, (err) =>
      this.opts.logger?.error({ event: 'cluster.subscriber.error', err }, 'cluster notification handler failed'),
    );
  }
}
