/**
 * What the domain core needs from the appliance: the database, the configuration and a clock.
 * Built once at boot and handed to every core function after the actor.
 */
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { DB } from '../db/schema.js';

export type CoreConfig = Pick<Config, 'hostname' | 'publicUrl' | 'setupTokenTtlHours' | 'defaultQuotaBytes' | 'bootstrapToken'>;

export interface CoreDeps {
  db: Kysely<DB>;
  config: Readonly<CoreConfig>;
  /** Epoch milliseconds; injectable so tests can move time. */
  now(): number;
}

export function createCoreDeps(db: Kysely<DB>, config: Readonly<CoreConfig>, now: () => number = Date.now): CoreDeps {
  return { db, config, now };
}
