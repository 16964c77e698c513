import { defineConfig } from 'vitest/config';

// End-to-end tests start the built app as real processes: generous timeouts, one file at a time.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
