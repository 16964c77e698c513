// The bulk insert of imported keys: one multi-row statement per 500 keys that skips a (groupId, keyHash) already
// stored, decided by the unique index (so a re-run or a merge into an existing group adds no duplicate). Prisma's
// createMany compiles a query per chunk and cannot skip duplicates on SQLite; 50,000 keys must take seconds.
import type { Prisma, Provider } from '@keyway/db';
import { sqliteTime } from '@keyway/db';

/** An imported key as stored: sealed value, keyed hash, its GPT-Load state and counters. */
export interface ImportedKeyRow {
  groupId: number;
  keyValue: string;
  keyHash: string;
  keyMasked: string;
  status: 'active' | 'invalid';
  failureCount: number;
  requestCount: number;
  lastUsedAt: Date | null;
  notes: string;
}

const COLUMNS = [
  'groupId',
  'keyValue',
  'keyHash',
  'keyMasked',
  'status',
  'failureCount',
  'requestCount',
  'lastUsedAt',
  'notes',
  'createdAt',
  'updatedAt',
] as const;
/** 11 parameters a row: 5,500 a statement, below every database's limit. */
const ROWS_PER_STATEMENT = 500;

/** Inserts rows, skipping keys their group already has; returns how many were added. */
export async function insertImportedKeys(
  tx: Prisma.TransactionClient,
  provider: Provider,
  rows: readonly ImportedKeyRow[],
): Promise<number> {
  const q = provider === 'mysql' ? '`' : '"';
  const cols = COLUMNS.map((c) => `${q}${c}${q}`).join(', ');
  // Prisma's SQLite encoding of DateTime is text with a +00:00 offset; the others take a Date.
  const time = (d: Date): string | Date => (provider === 'sqlite' ? sqliteTime(d.getTime()) : d);
  let added = 0;
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const now = time(new Date());
    const params: unknown[] = [];
    const tuples = rows.slice(i, i + ROWS_PER_STATEMENT).map((r) => {
      const base = params.length;
      params.push(
        r.groupId,
        r.keyValue,
        r.keyHash,
        r.keyMasked,
        r.status,
        r.failureCount,
        r.requestCount,
        r.lastUsedAt ? time(r.lastUsedAt) : null,
        r.notes,
        now,
        now,
      );
      return `(${COLUMNS.map((_, j) => (provider === 'postgresql' ? `$${base + j + 1}` : '?')).join(', ')})`;
    });
    const sql =
      provider === 'mysql'
        ? `INSERT IGNORE INTO ${q}api_keys${q} (${cols}) VALUES ${tuples.join(', ')}`
        : `INSERT INTO ${q}api_keys${q} (${cols}) VALUES ${tuples.join(', ')} ON CONFLICT (${q}groupId${q}, ${q}keyHash${q}) DO NOTHING`;
    added += await tx.$executeRawUnsafe(sql, ...params);
  }
  return added;
}
