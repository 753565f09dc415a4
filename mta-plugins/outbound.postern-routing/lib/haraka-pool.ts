/**
 * Puts the connection pool of ./pool.ts under Haraka's outbound queue: its `client_pool`
 * (get_client / release_client) goes through the pool, and each delivery attempt tells the pool
 * whether its envelope may take a kept connection. Resolved from Haraka's own outbound folder,
 * so these are the very modules its delivery code calls.
 */
import { createRequire } from 'node:module';
import { asciiEnvelope, type GetClient, type OutboundMx, OutboundPool, type ReleaseClient } from './pool.js';

interface ClientPool {
  get_client: GetClient;
  release_client: ReleaseClient;
  __postern_pool?: OutboundPool;
}

interface HMailClass {
  prototype: { try_deliver: (this: { todo?: unknown }, ...args: unknown[]) => unknown };
}

/**
 * Installs the pool once per process (a second call returns the first pool). `keepable` says
 * whether connections to a target may be kept at all. Null when Haraka's modules do not look as
 * expected: Haraka then connects per message as it always did.
 */
export function keepOutboundConnections(keepable: (mx: OutboundMx) => boolean): OutboundPool | null {
  let clientPool: ClientPool;
  let hmail: HMailClass;
  try {
    const fromHaraka = createRequire(require.resolve('Haraka/outbound/index.js'));
    clientPool = fromHaraka('./client_pool.js') as ClientPool;
    hmail = fromHaraka('./hmail.js') as HMailClass;
  } catch {
    return null;
  }
  if (clientPool.__postern_pool) return clientPool.__postern_pool;
  const tryDeliver = hmail.prototype?.try_deliver;
  if (typeof clientPool.get_client !== 'function' || typeof clientPool.release_client !== 'function' || typeof tryDeliver !== 'function') return null;

  const pool = new OutboundPool(clientPool.get_client, clientPool.release_client);
  // try_deliver calls get_client in its synchronous part (Haraka's outbound.ini local_mx_ok=true
  // leaves no await before it); a call that comes later finds no message here and opens a new
  // connection, as Haraka would.
  let delivering: { todo?: unknown } | null = null;
  const during = (item: { todo?: unknown }, run: () => unknown) => {
    delivering = item;
    try {
      return run();
    } finally {
      delivering = null;
    }
  };
  hmail.prototype.try_deliver = function (this: { todo?: unknown }, ...args: unknown[]) {
    return during(this, () => tryDeliver.apply(this, args));
  };
  clientPool.get_client = (mx, cb) => {
    const todo = (delivering?.todo ?? null) as Parameters<typeof asciiEnvelope>[0];
    pool.get(mx, asciiEnvelope(todo), keepable(mx), cb);
  };
  clientPool.release_client = (socket, mx) => pool.drop(socket, mx);
  clientPool.__postern_pool = pool;
  return pool;
}
