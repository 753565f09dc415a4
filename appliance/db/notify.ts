/**
 * The database's own notification channel (PostgreSQL LISTEN/NOTIFY), the only place that knows
 * its SQL. A NOTIFY issued inside a transaction is delivered to listeners at commit, after the
 * data is visible, and never when the transaction (or the savepoint it ran in) rolls back; so a
 * change notification can never overtake the change. SQLite has no such channel: there these
 * calls do nothing and the in-process change bus, fired after commit, is the whole story.
 */
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { dialectOf } from './dialect.js';
import type { DB } from './schema.js';

/** Channel names: lower-case letters, digits and underscores (used unquoted in LISTEN). */
const CHANNEL = /^[a-z][a-z0-9_]{0,62}$/;

/** PostgreSQL refuses payloads of 8000 bytes or more. */
export const MAX_NOTIFY_PAYLOAD = 7999;

function checkChannel(channel: string): string {
  if (!CHANNEL.test(channel)) throw new Error(`invalid notification channel ${JSON.stringify(channel)}`);
  return channel;
}

/**
 * Queues notifications on `channel` in the given executor: inside a transaction they are sent at
 * its commit, on the database handle at once. One statement for any number of payloads.
 */
export async function notifyChannel(db: Kysely<DB>, channel: string, payloads: readonly string[]): Promise<void> {
  if (!payloads.length || dialectOf(db) !== 'postgres') return;
  checkChannel(channel);
  for (const p of payloads) if (Buffer.byteLength(p) > MAX_NOTIFY_PAYLOAD) throw new Error('notification payload too large');
  await sql`select pg_notify(${channel}, p) from unnest(${[...payloads]}::text[]) as p`.execute(db);
}

export interface Listener {
  /** A round trip on the listening connection (liveness check); rejects when it is gone. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A dedicated connection (not from the pool: a pooled client would be handed to other queries
 * and its LISTEN lost) listening on `channels`. `onLost` is called once when the connection ends
 * or fails after it was established.
 */
export async function listenChannels(
  url: string,
  channels: readonly string[],
  handlers: { onNotification(channel: string, payload: string): void; onLost(err: Error | null): void },
  opts: { applicationName?: string; connectTimeoutMs?: number } = {},
): Promise<Listener> {
  const client = new pg.Client({ connectionString: url, application_name: opts.applicationName ?? 'postern-listen', keepAlive: true, connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000 });
  let lost = false;
  const lose = (err: Error | null) => {
    if (lost) return;
    lost = true;
    handlers.onLost(err);
  };
  client.on('error', (err) => lose(err));
  client.on('end', () => lose(null));
  client.on('notification', (msg) => handlers.onNotification(msg.channel, msg.payload ?? ''));
  try {
    await client.connect();
    for (const c of channels) await client.query(`LISTEN ${checkChannel(c)}`);
  } catch (err) {
    lost = true; // the caller learns of it from this rejection, not from onLost
    await client.end().catch(() => undefined);
    throw err;
  }
  return {
    async ping(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          client.query('select 1'),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('listen connection did not answer')), timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      lost = true;
      await client.end().catch(() => undefined);
    },
  };
}
