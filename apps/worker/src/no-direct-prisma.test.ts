// One way to reach the database: the worker calls repository functions of @keyway/db, never Prisma's model
// methods or raw queries. Test files and test-only helpers (./testing) may set up rows directly.
import { readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prismaCalls, productionSources } from '@keyway/db/source-scan';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

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
    const files = productionSources(SRC);
    expect(files.map((f) => relative(SRC, f))).toContain('check-keys.ts');
    const offenders = files.flatMap((f) =>
      prismaCalls(readFileSync(f, 'utf8')).map((call) => `${relative(SRC, f)}:${call}`),
    );
    expect(offenders).toEqual([]);
  });
});
