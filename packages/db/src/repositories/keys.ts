import type { DbClient } from '../client';
import type { Provider } from '../provider';
import { sqliteTime } from './sqlite-log-writer';

/** A key row to insert. */
export interface NewKeyRow {
  groupId: number;
  keyValue: string;
  keyHash: string;
  keyMasked: string;
}

const COLUMNS = ['groupId', 'keyValue', 'keyHash', 'keyMasked', 'createdAt', 'updatedAt'] as const;
/** Rows per statement: 6 parameters each stays far below every database's parameter limit. */
const ROWS_PER_STATEMENT = 500;

/**
 * Inserts keys, silently skipping those whose (groupId, keyHash) already exists — decided by the unique index in
 * one statement per chunk, so concurrent imports cannot race (a check-then-insert could) and no Prisma query
 * compilation is paid per chunk (createMany cost ~75% of a 100,000-key import). Returns how many were added.
 */
export async function insertKeysIgnoringDuplicates(
  db: DbClient,
  provider: Provider,
  rows: readonly NewKeyRow[],
): Promise<number> {
  const q = provider === 'mysql' ? '`' : '"';
  const cols = COLUMNS.map((c) => `${q}${c}${q}`).join(', ');
  let added = 0;
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const part = rows.slice(i, i + ROWS_PER_STATEMENT);
    // Prisma's SQLite encoding of DateTime is text with a +00:00 offset; the others take a Date.
    const now: string | Date = provider === 'sqlite' ? sqliteTime(Date.now()) : new Date();
    const params: unknown[] = [];
    const tuples = part.map((r) => {
      params.push(r.groupId, r.keyValue, r.keyHash, r.keyMasked, now, now);
      const base = params.length - COLUMNS.length;
      return `(${COLUMNS.map((_, j) => (provider === 'postgresql' ? `$${base + j + 1}` : '?')).join(', ')})`;
    });
    const sql =
      provider === 'mysql'
        ? `INSERT IGNORE INTO ${q}api_keys${q} (${cols}) VALUES ${tuples.join(', ')}`
        : `INSERT INTO ${q}api_keys${q} (${cols}) VALUES ${tuples.join(', ')} ON CONFLICT (${q}groupId${q}, ${q}keyHash${q}) DO NOTHING`;
    added += await db.$executeRawUnsafe(sql, ...params);
  }
  return added;
}
