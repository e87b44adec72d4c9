import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/load-env.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration suites share one Docker engine, one HAProxy and one dynalite per file;
    // running files in parallel on a 2-core machine makes timings flaky.
    fileParallelism: false,
    reporters: ['default'],
  },
});
