import { defineConfig } from 'tsup';

// Bundles the workspace packages (they ship TypeScript source) into one ESM file; npm dependencies stay external.
export default defineConfig({
  entry: { main: 'src/main.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  noExternal: [/^@keyway\//],
  splitting: false,
});
