/**
 * Answers kept per database handle while a write epoch stands still (issue 18): SQLite's epochs
 * (db/sqlite-readers.ts authWriteEpoch and the like) move before and after every write to the
 * tables an answer reads, so a kept answer ends at the next such write, never by a timeout. An
 * answer is kept only when the epoch did not move while it was read; where there is no epoch
 * (PostgreSQL: other nodes write too) nothing is kept. An answer can also end at a time of its own
 * (`until`, e.g. the first expiry it saw). Undefined answers are not kept.
 */
type EpochOf = (db: object) => (() => number) | null;

interface Kept<V> {
  epoch: number;
  until: number;
  value: V;
}

export class EpochKept<V> {
  private readonly byDb = new WeakMap<object, Map<string, Kept<V>>>();

  /** `max`: answers kept per database handle before they start over. */
  constructor(
    private readonly epochOf: EpochOf,
    private readonly max: number,
  ) {}

  /** The answer kept for `key` (still in its epoch, and `now` before its `until`), or `read()`'s. */
  async get(db: object, key: string, read: () => Promise<V | undefined>, opts: { now?: number; until?: (value: V) => number } = {}): Promise<V | undefined> {
    const epoch = this.epochOf(db);
    if (!epoch) return read();
    let kept = this.byDb.get(db);
    if (!kept) this.byDb.set(db, (kept = new Map()));
    const startedAt = epoch();
    const hit = kept.get(key);
    if (hit && hit.epoch === startedAt && (opts.now ?? 0) < hit.until) return hit.value;
    const value = await read();
    // kept only when nothing wrote those tables while it was read
    if (value !== undefined && epoch() === startedAt) {
      if (kept.size >= this.max) kept.clear();
      kept.set(key, { epoch: startedAt, until: opts.until ? opts.until(value) : Infinity, value });
    }
    return value;
  }
}
