/**
 * Appliance answers kept in Haraka between messages (issue 18): a domain's DKIM keys and an
 * outbound route, asked for every relayed message before. The appliance tags each such answer
 * with its write epoch of the tables it was read from (domains, dkim_keys, outbound_routes;
 * appliance/db/sqlite-readers.ts) and pushes every later move of that epoch at once, on the same
 * channel and so before any later answer: a kept answer is dropped as soon as anything it was
 * read from may have changed, so a key rotation, a disabled domain or a changed route applies to
 * the very next message. Answers without an epoch (PostgreSQL, where other nodes write too; or a
 * write ran during the read) and processes the pushes do not reach keep nothing.
 */
import type { Cacheable, RpcMethods } from '../../appliance/rpc/protocol.js';
import { call, onAppliancePush, pushesArrive } from './appliance.js';

/** Bounds the memory: route answers are per recipient domain. */
const MAX_ENTRIES = 10_000;

/** The newest epoch heard (pushed or in an answer); null: none yet. */
let known: number | null = null;
const entries = new Map<string, unknown>();

function heard(epoch: number): void {
  if (known !== null && epoch <= known) return;
  known = epoch;
  entries.clear();
}

onAppliancePush((event, value) => {
  if (event === 'mta.epoch' && typeof value === 'number') heard(value);
  else if (event === 'channel.lost') {
    known = null;
    entries.clear();
  }
});

type CachedMethod = { [M in keyof RpcMethods]: ReturnType<RpcMethods[M]> extends Cacheable<unknown> ? M : never }[keyof RpcMethods];
type ValueOf<M extends CachedMethod> = ReturnType<RpcMethods[M]> extends Cacheable<infer T> ? T : never;

/** The appliance's answer to `method` for `params`, from the kept answers while they hold. */
export async function kept<M extends CachedMethod>(method: M, key: string, params: Parameters<RpcMethods[M]>[0]): Promise<ValueOf<M>> {
  const id = `${method}\u0000${key}`;
  if (entries.has(id)) return entries.get(id) as ValueOf<M>;
  const answer = (await call(method, params)) as Cacheable<ValueOf<M>>;
  const e = answer.epoch;
  if (typeof e === 'number' && pushesArrive()) {
    heard(e);
    if (e === known) {
      if (entries.size >= MAX_ENTRIES) entries.clear();
      entries.set(id, answer.value);
    }
  }
  return answer.value;
}

/** For tests: how many answers are kept now. */
export function keptCount(): number {
  return entries.size;
}
