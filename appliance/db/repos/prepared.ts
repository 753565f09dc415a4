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

/** Per database handle: per shape key, per scope tenant (PLATFORM for the platform scope). */
const caches = new WeakMap<object, Map<string, Map<string, Prepared | null>>>();
/** How many compiled queries a handle's cache holds (shapes × scope tenants). */
const cacheSizes = new WeakMap<object, number>();
/** The scope-tenant key of the platform scope (no tenant id is empty). */
const PLATFORM = '';

type Arg = string | number;

/** The compiled parameters with the call's values in the markers' places. */
function bind(p: Prepared, args: readonly Arg[]): unknown[] {
  const compiled = p.compiled.parameters;
  const out = new Array<unknown>(compiled.length);
  for (let i = 0; i < compiled.length; i++) {
    const slot = p.slots[i]!;
    out[i] = slot >= 0 ? args[slot] : compiled[i];
  }
  return out;
}

/**
 * The rows of the query `build` makes from `args`: compiled at the first call for `key` and
 * `scopeTenant`, reused after. `build` must give the same shape for any values (no branching
 * on them, every argument used as a value). A call with an argument that is not a string or a
 * number, and a shape whose compiled parameters do not hold each marker, run unprepared.
 *
 * Called about a dozen times per ownership answer (issue 18): the cache is looked up by the
 * caller's constant key and the scope's tenant id in two maps (no key string made per call), and a
 * marked read of a readsOffThread handle returns the reader's promise itself (no async wrapper).
 */
export function preparedRows<R, A extends readonly Arg[]>(db: Executor, key: string, scopeTenant: string | null, args: A, build: (...args: A) => Compilable<R>): Promise<R[]> {
  try {
    // a value that cannot be marked (undefined from a caller's bad input, null…): built as usual, nothing cached
    for (let i = 0; i < args.length; i++) {
      const t = typeof args[i];
      if (t !== 'string' && t !== 'number') return unprepared(db, build(...args));
    }
    const p = preparedFor(db, key, scopeTenant ?? PLATFORM, args, build);
    if (p === null) return unprepared(db, build(...args));
    const query = { ...p.compiled, parameters: bind(p, args) } as CompiledQuery<R>;
    // a marked read of a readsOffThread handle goes to a reader without kysely's executor (sqlite-readers.ts)
    const direct = readOffThread(db, query);
    if (direct) return direct as Promise<R[]>;
    return unprepared(db, query);
  } catch (err) {
    // as the async function it was: a failure to build or compile is a rejected promise
    return Promise.reject(err as Error);
  }
}

/**
 * Compiles the shape `key` as preparedRows would at its first call, without running it (a
 * warm-up at server start: mailstore/store.ts warmUp); `args` are made-up values of the types
 * the callers pass.
 */
export function precompile<R, A extends readonly Arg[]>(db: Executor, key: string, scopeTenant: string | null, args: A, build: (...args: A) => Compilable<R>): void {
  preparedFor(db, key, scopeTenant ?? PLATFORM, args, build);
}

async function unprepared<R>(db: Executor, query: Compilable<R> | CompiledQuery<R>): Promise<R[]> {
  return (await db.executeQuery(query)).rows;
}

function preparedFor<R, A extends readonly Arg[]>(db: Executor, key: string, scopeTenant: string, args: A, build: (...args: A) => Compilable<R>): Prepared | null {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  let byScope = cache.get(key);
  if (!byScope) cache.set(key, (byScope = new Map()));
  let p = byScope.get(scopeTenant);
  if (p === undefined) {
    p = prepare(args, build);
    const size = (cacheSizes.get(db) ?? 0) + 1;
    if (size > CACHE_MAX) {
      cache.clear();
      cache.set(key, (byScope = new Map()));
      cacheSizes.set(db, 1);
    } else cacheSizes.set(db, size);
    byScope.set(scopeTenant, p);
  }
  return p;
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
