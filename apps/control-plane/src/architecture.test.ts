// Source scans of the control plane's own files (tests and test helpers under testing/ excluded): the database is
// reached through the repository functions of @keyway/db only, and no two modules import each other (directly
// or round a longer loop), which would leave one of them half-initialised depending on which is loaded first.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prismaCalls, productionSources } from '@keyway/db/source-scan';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

const appFiles = (): string[] => productionSources(SRC);

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/** The app files a file imports (relative imports, type-only ones included). */
function relativeImports(file: string, text: string): string[] {
  return [...text.matchAll(IMPORT)].flatMap((m) => {
    const base = resolve(dirname(file), (m[1] ?? m[2]) as string).replace(/\.js$/, '');
    const target = [`${base}.ts`, join(base, 'index.ts')].find((p) => existsSync(p));
    return target ? [target] : [];
  });
}

/** Every import cycle reachable in a graph, each as the list of its modules (first one repeated at the end). */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const done = new Set<string>();
  const path: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    const at = path.indexOf(node);
    if (at >= 0) {
      cycles.push([...path.slice(at), node]);
      return;
    }
    if (done.has(node)) return;
    path.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    path.pop();
    done.add(node);
  };
  for (const node of graph.keys()) visit(node);
  return cycles;
}

describe('database access', () => {
  it('recognises direct Prisma calls, split over lines or not', () => {
    const sample = [
      'await deps.db.apiKey.findMany({ where });',
      'const row = await db.group\n  .create({ data });',
      'await db.$transaction(async (tx) => tx.setting.upsert(args));',
      'await listKeys(deps.db, filter); group.name.trim(); keys.count;',
    ].join('\n');
    expect(prismaCalls(sample)).toEqual([
      '1: await deps.db.apiKey.findMany({ where });',
      '2: const row = await db.group',
      '4: await db.$transaction(async (tx) => tx.setting.upsert(args));',
      '4: await db.$transaction(async (tx) => tx.setting.upsert(args));',
    ]);
  });

  it('goes through the repositories of @keyway/db: no app file calls Prisma itself', () => {
    const files = appFiles();
    expect(files.length).toBeGreaterThan(20);
    const found = files.flatMap((f) =>
      prismaCalls(readFileSync(f, 'utf8')).map((call) => `${relative(SRC, f)}: ${call}`),
    );
    expect(found).toEqual([]);
  });
});

describe('module graph', () => {
  it('finds a cycle, however long, and not in a graph without one', () => {
    const cyclic = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
    ]);
    expect(importCycles(cyclic)).toEqual([['a', 'b', 'c', 'a']]);
    expect(
      importCycles(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('reads relative imports and re-exports, type-only ones too', () => {
    const file = join(SRC, 'sample.ts');
    const text = [
      "import type { CpEnv } from './context';",
      "import { z } from 'zod';",
      "export { loadSettings } from './settings-store';",
      "const m = await import('./keys');",
      "import './env';",
    ].join('\n');
    expect(relativeImports(file, text).map((p) => relative(SRC, p))).toEqual([
      'context.ts',
      'settings-store.ts',
      'keys.ts',
      'env.ts',
    ]);
  });

  it('has no import cycles among the app files', () => {
    const graph = new Map(appFiles().map((f) => [f, relativeImports(f, readFileSync(f, 'utf8'))]));
    const cycles = importCycles(graph).map((c) => c.map((f) => relative(SRC, f)).join(' -> '));
    expect(cycles).toEqual([]);
  });
});
