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
  // Every npm package stays external, including those only the workspace packages depend on (bullmq, nats…).
  skipNodeModulesBundle: true,
  splitting: false,
});
