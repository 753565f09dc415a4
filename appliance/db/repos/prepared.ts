/**
 * Queries built and compiled once per shape, then run again with new values (issue 18). kysely
 * builds an operation tree and compiles it to SQL for every call (30-55 µs of the serving
 * loop's time per query here); the ownership answer runs a dozen such reads per request.
 *
 * `preparedRows` builds the query once with a marker value in place of each argument (a string
 * or a number no caller passes), compiles it, and on every later call swaps the markers in the
 * compiled parameter list for the call's values. The compiled query keeps its tree, so the
 * reader-thread routing (db/sqlite-readers.ts) and the dialect's placeholders stay as they were.
 *
 * The cache is per database handle and keyed by the caller's name for the shape AND the repository
 * scope's tenant: a tenant filter added by `scoped()` is compiled in as a constant, so a query
 * compiled for one tenant is never run for another (tenant isolation stays by construction).
 */
import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import type { Executor } from './base.js';
import { readOffThread } from '../sqlite-readers.js';

/** Compiled queries kept per handle before the cache starts over (shapes × scope tenants). */
const CACHE_MAX = 2000;

/** Marker values: control characters in a string, and integers far outside any id, limit or time. */
const stringMarker = (i: number) => `\u0000postern-arg-${i}\u0000`;
const numberMarker = (i: number) => Number.MIN_SAFE_INTEGER + 7 + i;

interface Prepared {
  compiled: CompiledQuery;
  /** For each compiled parameter: the index of the argument it takes, or -1 (a constant). */
  slots: number[];
}

const caches = new WeakMap<object, Map<string, Prepared | null>>();

type Arg = string | number;

/**
 * The rows of the query `build` makes from `args`: compiled at the first call for `key` and
 * `scopeTenant`, reused after. `build` must give the same shape for any values (no branching
 * on them, every argument used as a value). A call with an argument that is not a string or a
 * number, and a shape whose compiled parameters do not hold each marker, run unprepared.
 */
export async function preparedRows<R, A extends readonly Arg[]>(db: Executor, key: string, scopeTenant: string | null, args: A, build: (...args: A) => Compilable<R>): Promise<R[]> {
  // a value that cannot be marked (undefined from a caller's bad input, null…): built as usual, nothing cached
  for (const a of args) if (typeof a !== 'string' && typeof a !== 'number') return (await db.executeQuery(build(...args))).rows;
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  const fullKey = `${key}\u0000${scopeTenant ?? ''}`;
  let p = cache.get(fullKey);
  if (p === undefined) {
    p = prepare(args, build);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(fullKey, p);
  }
  if (p === null) return (await db.executeQuery(build(...args))).rows;
  const parameters = p.compiled.parameters.map((v, i) => (p.slots[i]! >= 0 ? args[p.slots[i]!] : v));
  const query = { ...p.compiled, parameters } as CompiledQuery<R>;
  // a marked read of a readsOffThread handle goes to a reader without kysely's executor (sqlite-readers.ts)
  const direct = readOffThread(db, query);
  if (direct) return (await direct) as R[];
  return (await db.executeQuery(query)).rows;
}

const writeCaches = new WeakMap<object, Map<string, Prepared | null>>();

/**
 * The result of the statement `build` makes from `args` (a write, or a read inside a
 * transaction), run on `db`: compiled at the first call for `key` and `owner`, reused after.
 * `owner` is the database handle the statements belong to (a transaction is a new object each
 * time, so it cannot hold the cache): the compiled text depends only on its dialect. Same
 * rules for `build` as preparedRows; the statement goes through `db`'s executor as usual.
 */
export async function preparedQuery<R, A extends readonly Arg[]>(owner: object, db: Executor, key: string, args: A, build: (...args: A) => Compilable<R>): Promise<QueryResult<R>> {
  for (const a of args) if (typeof a !== 'string' && typeof a !== 'number') return db.executeQuery(build(...args));
  let cache = writeCaches.get(owner);
  if (!cache) writeCaches.set(owner, (cache = new Map()));
  let p = cache.get(key);
  if (p === undefined) {
    p = prepare(args, build);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, p);
  }
  if (p === null) return db.executeQuery(build(...args));
  const parameters = p.compiled.parameters.map((v, i) => (p.slots[i]! >= 0 ? args[p.slots[i]!] : v));
  return db.executeQuery({ ...p.compiled, parameters } as CompiledQuery<R>);
}

function prepare<R, A extends readonly Arg[]>(args: A, build: (...args: A) => Compilable<R>): Prepared | null {
  const markers: Arg[] = args.map((a, i) => (typeof a === 'number' ? numberMarker(i) : stringMarker(i)));
  const compiled = build(...(markers as unknown as A)).compile();
  const slots = compiled.parameters.map((v) => markers.indexOf(v as Arg));
  // every argument must land in the parameters (else it was used as something other than a value)
  for (let i = 0; i < markers.length; i++) if (!slots.includes(i)) return null;
  return { compiled, slots };
}
