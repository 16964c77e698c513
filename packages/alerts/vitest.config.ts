import { defineConfig } from 'vitest/config';

// Each package is its own vitest project (the root config lists them); this keeps `vitest` run inside the
// package from picking up the root's project list.
export default defineConfig({ test: {} });
