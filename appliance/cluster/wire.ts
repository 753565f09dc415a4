/**
 * What every cluster transport shares: the wire form of a message (origin node and payload) and
 * the subscriber lists with their dispatch.
 */
import type { ClusterPayload } from './notifier.js';

/** Topics in use (PostgreSQL channels postern_<topic>). */
export const TOPICS = { changes: 'changes', revoke: 'revoke', grants: 'grants' } as const;

/** The wire form shared by transports: origin node and payload. */
export function encodeMessage(origin: string, payload: ClusterPayload): string {
  return JSON.stringify({ o: origin, p: payload });
}

export function decodeMessage(raw: string): { origin: string; payload: ClusterPayload } | null {
  try {
    const v = JSON.parse(raw) as { o?: unknown; p?: unknown };
    if (typeof v.o !== 'string' || !v.p || typeof v.p !== 'object' || Array.isArray(v.p)) return null;
    return { origin: v.o, payload: v.p as ClusterPayload };
  } catch {
    return null;
  }
}

export type Subscriber = (payload: ClusterPayload, meta: { origin: string }) => void;

/** Subscribers by topic, and the dispatch that keeps one failing subscriber from the others. */
export class Subscribers {
  private readonly byTopic = new Map<string, Set<Subscriber>>();
  private readonly resyncs = new Set<() => void | Promise<void>>();

  add(topic: string, fn: Subscriber): () => void {
    let set = this.byTopic.get(topic);
    if (!set) this.byTopic.set(topic, (set = new Set()));
    set.add(fn);
    return () => {
      set!.delete(fn);
      if (!set!.size) this.byTopic.delete(topic);
    };
  }

  addResync(fn: () => void | Promise<void>): () => void {
    this.resyncs.add(fn);
    return () => this.resyncs.delete(fn);
  }

  dispatch(topic: string, payload: ClusterPayload, origin: string, onError: (err: unknown) => void): void {
    const set = this.byTopic.get(topic);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload, { origin });
      } catch (err) {
        onError(err);
      }
    }
  }

  async resync(onError: (err: unknown) => void): Promise<void> {
    await Promise.all(
      [...this.resyncs].map(async (fn) => {
        try {
          await fn();
        } catch (err) {
          onError(err);
        }
      }),
    );
  }
}
