/**
 * The readiness probe of the database (GET /readyz): one cheap read that fails when the file
 * is gone, locked beyond the busy timeout or corrupt (SQLite), or when the server cannot be
 * reached or refuses the query (PostgreSQL: the pool's connection timeout bounds the wait).
 * Portable SQL, so one probe serves both. Platform scope: it reads no tenant's data.
 */
import { Repo } from './base.js';

export class HealthRepo extends Repo {
  /** Resolves when the database answers a read; rejects with the driver's error otherwise. */
  async probe(): Promise<void> {
    await this.db.selectFrom('tenants').select('id').limit(1).execute();
  }
}
