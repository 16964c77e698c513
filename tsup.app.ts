import type { Options } from 'tsup';

/**
 * How every Node app is bundled: the workspace packages (they ship TypeScript source) go into one ESM file per
 * entry; every npm package stays external (including those only a workspace package depends on), so each app's
 * package.json must list them — a deploy test checks that.
 */
export function appBundle(entry: Record<string, string>): Options {
  return {
    entry,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    outDir: 'dist',
    clean: true,
    sourcemap: true,
    noExternal: [/^@keyway\//],
    skipNodeModulesBundle: true,
    splitting: false,
  };
}
