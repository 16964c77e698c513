import { defineConfig } from 'vitest/config';

// A config of its own stops vitest from picking up the workspace-wide one at the repository root.
// One file at a time: each starts a whole cluster, and on a 2-core machine parallel files would distort the
// measured times (and each other's load).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
