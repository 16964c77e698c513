import { defineConfig } from 'vitest/config';

// Its own vitest project, so `vitest` run inside bench/ does not pick up the root's project list.
export default defineConfig({ test: {} });
