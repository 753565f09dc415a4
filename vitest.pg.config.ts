/**
 * The PostgreSQL run (`npm run test:pg`, and the second part of `npm test`): the integration
 * suite again, every test app and core on its own fresh database on one private PostgreSQL 15
 * (test/setup/pg-global.ts starts it; POSTERN_TEST_PG_URL tells the helpers). No unit test
 * touches the database, so none is repeated here.
 */
import { defineConfig } from 'vitest/config';

/** Files left out of the PostgreSQL run, each with its reason. */
const EXCLUDED: Record<string, string> = {
  // Starts its own private server and runs the migrations on it already in the main run.
  'test/integration/pg-migrations.test.ts': 'a PostgreSQL test in the main run already',
  // 10,000 rows at ~8 statements each: on PostgreSQL every statement is a network round trip
  // (SQLite: an in-process call), and the apply exceeds the test's fixed 120 s budget on a shared
  // 2-core box. Bulk plan/apply/rollback correctness on PostgreSQL is covered by
  // api-portfolio-bulk.test.ts; speed belongs to `npm run bench` (scripts/bench/bulk.ts).
  // The move's source is by definition the single node's SQLite file (its target is PostgreSQL already).
  'test/integration/storage-move.test.ts': 'moves SQLite into PostgreSQL; its source cannot be PostgreSQL',
  // The SQLite snapshot path (VACUUM INTO); the PostgreSQL path is backup-postgres and backup-cluster.
  'test/integration/backup-consistency.test.ts': 'the SQLite snapshot path; PostgreSQL backups are tested by backup-postgres and backup-cluster',
  'test/integration/api-portfolio-bulk-scale.test.ts': 'a 10,000-row timing case; PostgreSQL round trips exceed its fixed budget here',
};

export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    exclude: Object.keys(EXCLUDED),
    globalSetup: ['test/setup/pg-global.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // Timeouts catch hangs, not slowness (speed is `npm run bench`'s): an e2e test that boots an
    // appliance or Chromium took over 30 s on a loaded 2-core box.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
