// One way to reach the database: the worker calls repository functions of @keyway/db, never Prisma's model
// methods or raw queries. Test files and test-only helpers (./testing) may set up rows directly.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Prisma } from '@keyway/db';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

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
function prismaCalls(source: string): string[] {
  return [...source.matchAll(PRISMA_CALL)].map((m) => {
    const line = source.slice(0, m.index).split('\n').length;
    return `${line}: ${source.split('\n')[line - 1]?.trim() ?? ''}`;
  });
}

/** The worker's non-test sources, relative to src. */
function productionSources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testing' ? [] : productionSources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [relative(SRC, path)] : [];
  });
}

describe('database access in the worker', () => {
  it('recognises a Prisma call, even split over lines, and not a Map or Set method', () => {
    expect(prismaCalls('await deps.db.apiKey.findMany({ where })')).toHaveLength(1);
    expect(prismaCalls('await deps.db.group\n  .updateMany({})')).toHaveLength(1);
    expect(prismaCalls('await deps.db.group.updateMany({})')).toHaveLength(1);
    expect(prismaCalls('await db.$transaction(async (tx) => {})')).toHaveLength(1);
    expect(prismaCalls("await tx.$executeRawUnsafe('VACUUM')")).toHaveLength(1);
    expect(prismaCalls('written.delete(keyId); seen.update(x); pool.count()')).toHaveLength(0);
  });

  it('goes through the repository functions of @keyway/db in every non-test file', () => {
    const files = productionSources();
    expect(files).toContain('check-keys.ts');
    const offenders = files.flatMap((f) =>
      prismaCalls(readFileSync(join(SRC, f), 'utf8')).map((call) => `${f}:${call}`),
    );
    expect(offenders).toEqual([]);
  });
});
