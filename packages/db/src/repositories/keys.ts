import { maskSecret } from '@keyway/core';
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
  /** Seals a key for storage and hashes it for de-duplication (`@keyway/keypool`'s KeyCipher fits). */
  keyCipher: { seal(plain: string): string; hash(plain: string): string };
  keyPool: KeyPoolWriter;
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
}

/** Keys hashed, sealed and inserted per round (and added to the pool). */
const ADD_CHUNK = 1000;
/** Progress reports per call: often enough for a progress bar, rare enough not to flood a Redis-backed queue. */
const PROGRESS_STEPS = 100;

/**
 * Adds keys to a group, ignoring those already there (by keyed hash; the unique index backs this up), and puts
 * the new ones into the key pool so they are picked at once. Keys the pool already holds keep their live health.
 */
export async function addKeys(
  deps: AddKeysDeps,
  groupId: number,
  values: readonly string[],
  options: AddKeysOptions = {},
): Promise<AddKeysResult> {
  const { db, keyCipher, keyPool } = deps;
  const step = Math.max(ADD_CHUNK, Math.ceil(values.length / PROGRESS_STEPS));
  let added = 0;
  let reported = 0;
  for (let i = 0; i < values.length; i += ADD_CHUNK) {
    const hashed = values.slice(i, i + ADD_CHUNK).map((value) => ({ value, hash: keyCipher.hash(value) }));
    added += await insertKeysIgnoringDuplicates(
      db,
      deps.dbProvider ?? 'sqlite',
      hashed.map((k) => ({
        groupId,
        keyValue: keyCipher.seal(k.value),
        keyHash: k.hash,
        keyMasked: maskSecret(k.value),
      })),
    );
    // Ids of the new rows: a key added before (or by a concurrent import) is found by its hash too.
    const plain = new Map(hashed.map((k) => [k.hash, k.value]));
    const rows = await db.apiKey.findMany({
      where: { groupId, keyHash: { in: hashed.map((k) => k.hash) } },
      select: { id: true, keyHash: true },
    });
    const fresh = rows.filter((r) => keyPool.health(groupId, r.id) === undefined);
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
  }
  const total = await db.apiKey.count({ where: { groupId } });
  return { added, ignored: values.length - added, total };
}
