// Test-only: source scans that keep the apps on one way to reach the database — the repository functions of
// @keyway/db, never Prisma's model methods or raw queries (test files and test helpers under testing/ excepted).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Prisma } from '../generated/sqlite/client';

const MODEL_METHODS = [
  'findMany',
  'findFirst',
  'findFirstOrThrow',
  'findUnique',
  'findUniqueOrThrow',
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'delete',
  'deleteMany',
  'upsert',
  'count',
  'aggregate',
  'groupBy',
];
/** The client's model accessors (`apiKey`, `group`, …), from the schema itself so a new model is covered too. */
const ACCESSORS = Object.values(Prisma.ModelName).map((m) => m.charAt(0).toLowerCase() + m.slice(1));
const PRISMA_CALL = new RegExp(
  `\\.\\s*(?:${ACCESSORS.join('|')})\\s*\\.\\s*(?:${MODEL_METHODS.join('|')})\\s*\\(` +
    '|\\$(?:transaction|queryRaw|queryRawUnsafe|queryRawTyped|executeRaw|executeRawUnsafe)\\b',
  'g',
);

/** Where `source` calls Prisma directly (a call may span lines), as `line: text`. */
export function prismaCalls(source: string): string[] {
  const lines = source.split('\n');
  return [...source.matchAll(PRISMA_CALL)].map((m) => {
    const line = source.slice(0, m.index).split('\n').length;
    return `${line}: ${lines[line - 1]?.trim() ?? ''}`;
  });
}

/** The non-test TypeScript files below `dir` (test helpers under `testing/` left out), as absolute paths. */
export function productionSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testing' ? [] : productionSources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}
