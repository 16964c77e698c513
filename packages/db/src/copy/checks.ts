// What the copy verifies before it writes: the source is a Keyway database at this version's schema, and the
// target is either empty or an unfinished (or finished) copy of this same source.
import { readMigrations, resolveMigrationsDir } from '../migrate';
import type { CopyEndpoint, TableProgress, TableShape } from './endpoint';
import { PROGRESS_TABLE } from './endpoint';
import type { CopyModel } from './model';
import { decodeValue, sameRow, type CopyValue } from './values';

/** The copy will not run (same database, wrong schema, conflicting target): nothing was written. */
export class CopyRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyRefusedError';
  }
}

/** Refuses a source without the Keyway schema, or at another version of it than this build's. */
export async function checkSourceSchema(source: CopyEndpoint): Promise<void> {
  const applied = await source.appliedMigrations();
  if (applied === null)
    throw new CopyRefusedError('the source database holds no Keyway schema (no _prisma_migrations table)');
  const local = readMigrations(resolveMigrationsDir(source.provider), source.provider).map((m) => m.name);
  const missing = local.filter((m) => !applied.includes(m));
  const unknown = applied.filter((m) => !local.includes(m));
  if (unknown.length > 0)
    throw new CopyRefusedError(
      `the source database was migrated by a newer Keyway (${unknown.join(', ')}): run db:copy of that version`,
    );
  if (missing.length > 0)
    throw new CopyRefusedError(
      `the source database is at an older schema (${missing.length} migration(s) missing, from ${missing[0]}): ` +
        'start this version of Keyway on it once (or run `pnpm migrate` with DATABASE_URL set to it), then copy',
    );
}

/**
 * Before anything is written (migrations included): a target without a progress table must hold no Keyway rows,
 * since the copy keeps the source's ids and would collide with (or silently mix into) data already there.
 */
export async function checkTargetEmpty(target: CopyEndpoint, models: readonly CopyModel[]): Promise<void> {
  if ((await target.readProgress()) !== null) return;
  const existing = await target.tables();
  const filled: string[] = [];
  for (const m of models) {
    if (!existing.has(m.table)) continue;
    const n = await target.count(m.table);
    if (n > 0) filled.push(`${m.table} (${n} row(s))`);
  }
  if (filled.length > 0)
    throw new CopyRefusedError(
      `the target database already holds data: ${filled.join(', ')}. Copy into a new, empty database (only ` +
        'migrated, Keyway never started on it), or drop these rows first. Nothing was written.',
    );
}

/**
 * With a progress table (an earlier run): every table must hold exactly the rows that run recorded, and the last
 * row it copied must still be the source's row with that key, so the target is a copy of this source and nothing
 * else wrote to it since.
 */
export async function checkResumable(
  source: CopyEndpoint,
  target: CopyEndpoint,
  shapes: readonly TableShape[],
  progress: ReadonlyMap<string, TableProgress>,
): Promise<void> {
  for (const shape of shapes) {
    const p = progress.get(shape.table);
    const n = await target.count(shape.table);
    const recorded = p?.copied ?? 0;
    if (n !== recorded)
      throw new CopyRefusedError(
        `the target's ${shape.table} holds ${n} row(s) but the earlier copy recorded ${recorded}: something else ` +
          `wrote to the target. Start over with an empty database (or drop its tables and ${PROGRESS_TABLE}).`,
      );
    if (!p?.lastKey) continue;
    const key = progressKey(shape, p.lastKey);
    const [ours, theirs] = [await source.readRow(shape, key), await target.readRow(shape, key)];
    if (!ours || !theirs || !sameRow(shape.columns, ours, theirs))
      throw new CopyRefusedError(
        `the target holds an earlier copy of another database (or the source changed): ${shape.table} row ` +
          `${JSON.stringify(key)} differs. Copy into a new, empty database instead.`,
      );
  }
}

/** The recorded last key in the key columns' own types. */
export function progressKey(shape: TableShape, lastKey: string): CopyValue[] {
  const values = JSON.parse(lastKey) as unknown[];
  return shape.primaryKey.map((k, i) => {
    const type = shape.columns.find((c) => c.name === k)?.type ?? 'String';
    return decodeValue(type, values[i]);
  });
}

/** Refuses a shape without a primary key: the copy pages and resumes by it. */
export function checkShape(shape: TableShape): void {
  if (shape.primaryKey.length === 0)
    throw new CopyRefusedError(
      `table ${shape.table} has no primary key in the target; cannot copy it in order`,
    );
  for (const k of shape.primaryKey)
    if (!shape.columns.some((c) => c.name === k))
      throw new CopyRefusedError(`table ${shape.table}: primary-key column ${k} is not in the schema`);
}
