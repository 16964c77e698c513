import type Database from 'better-sqlite3';
import { maskSecret } from '@keyway/core';
import type { DbClient } from '../client';
import type { Provider } from '../provider';
import { createPacer } from '../slices';
import type { SqliteWriter } from '../sqlite-writer';
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

/** A stored key's id by its keyed hash. */
export interface StoredKeyId {
  id: number;
  keyHash: string;
}

/**
 * Prepares the key-import statements on a better-sqlite3 connection; the function returned inserts rows
 * (skipping a (groupId, keyHash) already stored) and finds the id of each, to be called inside a transaction
 * (`createSqliteWriter` owns that). One prepared statement per row: no SQL text to build; a new row's id is its
 * rowid, and only a key already stored costs a probe of the unique index.
 */
export function prepareKeyInsert(
  db: Database.Database,
): (rows: readonly NewKeyRow[]) => { added: number; ids: StoredKeyId[] } {
  const insert = db.prepare(
    `INSERT INTO api_keys (groupId, keyValue, keyHash, keyMasked, createdAt, updatedAt)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (groupId, keyHash) DO NOTHING`,
  );
  const find = db.prepare('SELECT id FROM api_keys WHERE groupId = ? AND keyHash = ?').pluck();
  return (rows) => {
    const now = sqliteTime(Date.now());
    let added = 0;
    const ids: StoredKeyId[] = [];
    for (const r of rows) {
      const done = insert.run(r.groupId, r.keyValue, r.keyHash, r.keyMasked, now, now);
      added += done.changes;
      // A new row's id is the insert's rowid; only a key already stored needs the lookup (half the index work).
      const id =
        done.changes === 1
          ? Number(done.lastInsertRowid)
          : (find.get(r.groupId, r.keyHash) as number | undefined);
      if (id !== undefined) ids.push({ id, keyHash: r.keyHash });
    }
    return { added, ids };
  };
}

/** A new key as the pool takes it: active, with a clean record. */
export interface NewPoolKey {
  id: number;
  groupId: number;
  value: string;
  status: 'active';
  failureCount: number;
  cooldownUntil: null;
  lastError: null;
}

/** What {@link addKeys} needs of the key pool: `@keyway/keypool`'s KeyPool fits (the db package does not import it). */
export interface KeyPoolWriter {
  /** The live health of a key, undefined when the pool does not hold it. */
  health(groupId: number, keyId: number): unknown;
  add(groupId: number, keys: readonly NewPoolKey[]): Promise<void>;
}

/** Collaborators of {@link addKeys}; the control plane's and the worker's deps fit. */
export interface AddKeysDeps {
  db: DbClient;
  /** Which database `db` talks to (the insert statement differs per dialect); SQLite when omitted. */
  dbProvider?: Provider;
  /**
   * Seals a key for storage and hashes it for de-duplication (`@keyway/keypool`'s KeyCipher fits). The bulk
   * forms, when present, are used per chunk: the KeyCipher runs them in a worker thread.
   */
  keyCipher: {
    seal(plain: string): string;
    hash(plain: string): string;
    sealMany?(plains: readonly string[]): Promise<string[]>;
    hashMany?(plains: readonly string[]): Promise<string[]>;
  };
  keyPool: KeyPoolWriter;
  /** The process's SQLite writer (standalone): inserts go through it in short transactions, not through Prisma. */
  sqliteWriter?: SqliteWriter;
}

/** What adding keys did; `total` is the group's key count afterwards. */
export interface AddKeysResult {
  added: number;
  ignored: number;
  total: number;
}

/** Options of {@link addKeys}. */
export interface AddKeysOptions {
  /** Called as keys are stored (about a hundred times at most, and once at the end), e.g. a job's progress. */
  onProgress?: (processed: number, total: number) => Promise<void>;
  /**
   * `values` already sealed by `deps.keyCipher`, index for index (a queued import's payload): stored as they
   * are instead of sealing each key again, which is most of an import's CPU (a fresh IV each time either way).
   */
  sealed?: readonly string[];
}

/** Keys hashed, sealed and inserted per round (and added to the pool). */
const ADD_CHUNK = 1000;
/** Progress reports per call: often enough for a progress bar, rare enough not to flood a Redis-backed queue. */
const PROGRESS_STEPS = 100;

/** Stores sealed rows and returns how many were new and the id of every hash (new or already stored). */
async function storeRows(
  deps: AddKeysDeps,
  groupId: number,
  rows: readonly NewKeyRow[],
): Promise<{ added: number; ids: StoredKeyId[] }> {
  if (deps.sqliteWriter) return deps.sqliteWriter.insertKeys(rows);
  const added = await insertKeysIgnoringDuplicates(deps.db, deps.dbProvider ?? 'sqlite', rows);
  // Ids of the new rows: a key added before (or by a concurrent import) is found by its hash too.
  const ids = await deps.db.apiKey.findMany({
    where: { groupId, keyHash: { in: rows.map((r) => r.keyHash) } },
    select: { id: true, keyHash: true },
  });
  return { added, ids };
}

/**
 * Adds keys to a group, ignoring those already there (by keyed hash; the unique index backs this up), and puts
 * the new ones into the key pool so they are picked at once. Keys the pool already holds keep their live health.
 * Hashing and sealing run in slices that yield to the event loop (100,000 keys are seconds of CPU), so a
 * gateway in the same process keeps serving while a large import runs.
 */
export async function addKeys(
  deps: AddKeysDeps,
  groupId: number,
  values: readonly string[],
  options: AddKeysOptions = {},
): Promise<AddKeysResult> {
  const { db, keyCipher, keyPool } = deps;
  const step = Math.max(ADD_CHUNK, Math.ceil(values.length / PROGRESS_STEPS));
  const pacer = createPacer();
  let added = 0;
  let reported = 0;
  for (let i = 0; i < values.length; i += ADD_CHUNK) {
    const end = Math.min(values.length, i + ADD_CHUNK);
    const plain = new Map<string, string>();
    const rows: NewKeyRow[] = [];
    const chunk = values.slice(i, end);
    // Bulk forms off this thread when the cipher has them; otherwise one key at a time, in slices.
    const [hashes, sealed] = await Promise.all([
      keyCipher.hashMany ? keyCipher.hashMany(chunk) : null,
      options.sealed?.slice(i, end) ?? (keyCipher.sealMany ? keyCipher.sealMany(chunk) : null),
    ]);
    for (let j = 0; j < chunk.length; j++) {
      const value = chunk[j] as string;
      const keyHash = hashes?.[j] ?? keyCipher.hash(value);
      plain.set(keyHash, value);
      const keyValue = sealed?.[j] ?? keyCipher.seal(value);
      rows.push({ groupId, keyValue, keyHash, keyMasked: maskSecret(value) });
      if (pacer.due()) await pacer.pause();
    }
    const stored = await storeRows(deps, groupId, rows);
    added += stored.added;
    const fresh = stored.ids.filter((r) => keyPool.health(groupId, r.id) === undefined);
    await keyPool.add(
      groupId,
      fresh.map((r) => ({
        id: r.id,
        groupId,
        value: plain.get(r.keyHash) as string,
        status: 'active' as const,
        failureCount: 0,
        cooldownUntil: null,
        lastError: null,
      })),
    );
    const processed = Math.min(values.length, i + ADD_CHUNK);
    if (options.onProgress && (processed - reported >= step || processed === values.length)) {
      reported = processed;
      await options.onProgress(processed, values.length);
    }
    if (pacer.due()) await pacer.pause();
  }
  const total = await db.apiKey.count({ where: { groupId } });
  return { added, ignored: values.length - added, total };
}
