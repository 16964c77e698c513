import type { Options } from 'tsup';

type TsupPlugin = NonNullable<Options['plugins']>[number];

/**
 * Writes every character above U+00FF in a bundle as a `\uXXXX` escape. esbuild already does so in strings,
 * templates and identifiers, but keeps comments (and regular expression literals) as written, and one `→` in a
 * comment makes V8 keep the whole bundle's source (which it holds for lazy compiling) as two-byte text: 1.2 MB
 * instead of 0.6 for the gateway, 2 MB instead of 1 for standalone. In a comment the escape is just text; in a
 * regular expression it means the same character (a surrogate pair, with or without the `u` flag); source
 * positions move only after such a character on its line, that is inside comments (sources write regular
 * expressions with escapes). A character escaped by a backslash cannot be rewritten this way: the build fails.
 */
export const latin1Source: TsupPlugin = {
  name: 'latin1-source',
  renderChunk(code, chunk) {
    if (!/\.[cm]?js$/.test(chunk.path)) return;
    const out = code.replace(/[\u0100-\uffff]/g, (ch: string, at: number) => {
      if (code[at - 1] === '\\')
        throw new Error(
          `${chunk.path}: an escaped U+${hex(ch)} at offset ${at} cannot be written as \\u${hex(ch)}`,
        );
      return `\\u${hex(ch)}`;
    });
    return out === code ? undefined : { code: out };
  },
};

const hex = (ch: string): string => ch.charCodeAt(0).toString(16).padStart(4, '0');

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
    plugins: [latin1Source],
  };
}
