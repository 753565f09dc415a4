import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // Timeouts catch hangs, not slowness (speed is `npm run bench`'s): an e2e test that boots an
    // appliance or Chromium took over 30 s on a loaded 2-core box.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
