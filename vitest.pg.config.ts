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
};

export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    exclude: Object.keys(EXCLUDED),
    globalSetup: ['test/setup/pg-global.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
