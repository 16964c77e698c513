import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Integration tests create databases and start the wasm schema engine; a few seconds is normal for them.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
