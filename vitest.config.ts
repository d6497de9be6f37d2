import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The end-to-end files mostly wait on real daemons, simulators and receivers (the budget and
    // grouping ones for minutes at a time), so more files than cores run side by side; vitest's
    // default of cores − 1 would run them one after the other on a 2-core machine.
    maxWorkers: 4,
    globalSetup: ['test/global-setup.ts'],
  },
});
