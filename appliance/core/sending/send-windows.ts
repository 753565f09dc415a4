/**
 * The send limiter's counters (limits.ts): per key, a count over the limit window and a
 * deadline (`until`, used for the "block raised" marker). In memory for one node; in the shared
 * database (`rate_windows`) for a cluster, so every node counts the same submissions.
 */
import { type Executor, repos } from '../../db/repos/index.js';
import { slidingCount } from '../../db/repos/rate-windows.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';

export interface WindowState {
  count: number;
  until: number;
}

export interface SendWindows {
  /** The state of these keys (absent: zero). */
  read(keys: readonly string[], now: number): Promise<Map<string, WindowState>>;
  /** Adds to each key's count; returns the states after the write. Keys distinct. */
  add(entries: ReadonlyArray<{ key: string; n: number }>, now: number): Promise<Map<string, WindowState>>;
  setUntil(key: string, until: number, now: number): Promise<void>;
  clear(keys: readonly string[]): Promise<void>;
}

const BUCKETS = 60;

/** One node: counts in BUCKETS slices of the window (cheap, bounded memory per key). */
export class MemorySendWindows implements SendWindows {
  private readonly counts = new Map<string, { slot: number[]; at: number[] }>();
  private readonly deadlines = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  private slotOf(now: number): number {
    return Math.floor(now / (this.windowMs / BUCKETS));
  }

  private total(key: string, now: number): number {
    const c = this.counts.get(key);
    if (!c) return 0;
    const current = this.slotOf(now);
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) if (current - c.at[i]! < BUCKETS) sum += c.slot[i]!;
    return sum;
  }

  async read(keys: readonly string[], now: number): Promise<Map<string, WindowState>> {
    return new Map(keys.map((k) => [k, { count: this.total(k, now), until: this.deadlines.get(k) ?? 0 }]));
  }

  async add(entries: ReadonlyArray<{ key: string; n: number }>, now: number): Promise<Map<string, WindowState>> {
    for (const { key, n } of entries) {
      let c = this.counts.get(key);
      if (!c) this.counts.set(key, (c = { slot: new Array(BUCKETS).fill(0), at: new Array(BUCKETS).fill(-Infinity) }));
      const s = this.slotOf(now);
      const i = s % BUCKETS;
      if (c.at[i] !== s) {
        c.at[i] = s;
        c.slot[i] = 0;
      }
      c.slot[i]! += n;
    }
    return this.read(
      entries.map((e) => e.key),
      now,
    );
  }

  async setUntil(key: string, until: number): Promise<void> {
    this.deadlines.set(key, until);
  }

  async clear(keys: readonly string[]): Promise<void> {
    for (const k of keys) {
      this.counts.delete(k);
      this.deadlines.delete(k);
    }
  }
}

/** A cluster: the windows in the shared database (one read or one upsert per call). */
export class SharedSendWindows implements SendWindows {
  constructor(
    private readonly db: Executor,
    private readonly windowMs: number,
  ) {}

  private get repo() {
    return repos(this.db, PLATFORM_SCOPE).rateWindows;
  }

  private start(now: number): number {
    return Math.floor(now / this.windowMs) * this.windowMs;
  }

  private states(rows: Awaited<ReturnType<typeof this.repo.read>>, keys: readonly string[], now: number): Map<string, WindowState> {
    const by = new Map(rows.map((r) => [r.key, r]));
    return new Map(keys.map((k) => [k, { count: Math.round(slidingCount(by.get(k), now, this.windowMs)), until: by.get(k)?.until ?? 0 }]));
  }

  async read(keys: readonly string[], now: number): Promise<Map<string, WindowState>> {
    return this.states(await this.repo.read(keys), keys, now);
  }

  async add(entries: ReadonlyArray<{ key: string; n: number }>, now: number): Promise<Map<string, WindowState>> {
    const rows = await this.repo.add(entries, this.start(now), this.windowMs);
    return this.states(
      rows,
      entries.map((e) => e.key),
      now,
    );
  }

  setUntil(key: string, until: number, now: number): Promise<void> {
    return this.repo.setUntil(key, until, this.start(now));
  }

  clear(keys: readonly string[]): Promise<void> {
    return this.repo.clear(keys);
  }
}
