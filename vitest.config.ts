import { defineConfig } from 'vitest/config';

// One vitest project per workspace package, so `pnpm vitest` at the root runs everything in one process tree.
// `pnpm test` goes through turbo instead, which builds what the end-to-end tests start first.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'e2e', 'deploy'],
  },
});
