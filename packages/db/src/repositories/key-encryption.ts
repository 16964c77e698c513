// The statements behind re-encrypting the stored upstream keys (`pnpm keys:rotate-encryption`, standalone's
// encryption of a plaintext database at start): reading keys in id order, rewriting a batch of values with their
// keyed hashes and their request logs' hashes in one transaction, the new verifier and the SQLite clean-up.
import type { DbClient } from '../client';
import type { Provider } from '../provider';

/** Generous: a batch is up to a thousand rewritten keys plus their log updates, on a possibly remote database. */
const TX_TIMEOUT_MS = 5 * 60_000;
const TX_MAX_WAIT_MS = 60_000;
/** Rows per statement: 6 parameters each stays far below every database's parameter limit. */
const ROWS_PER_STATEMENT = 500;

/** Up to `take` stored keys with ids above `afterId`, in id order: the id and the stored (maybe sealed) value. */
export function storedKeyValuePage(
  db: DbClient,
  afterId: number,
  take: number,
): Promise<Array<{ id: number; keyValue: string }>> {
  return db.apiKey.findMany({
    where: { id: { gt: afterId } },
    orderBy: { id: 'asc' },
    take,
    select: { id: true, keyValue: true },
  });
}

/** A stored key as a rewrite batch reads it. */
export interface StoredKeyRow {
  id: number;
  keyValue: string;
  keyHash: string;
}

/** One key's new stored form; the key is rewritten only if it still holds `oldValue`. */
export interface KeyRewrite {
  id: number;
  oldValue: string;
  oldHash: string;
  keyValue: string;
  keyHash: string;
}

/** What one rewrite batch read and wrote, with what its plan returned. */
export interface KeyRewriteBatch<P> {
  /** Keys read (0: there are none after `afterId`). */
  rows: number;
  /** The last id read (`afterId` when none). */
  lastId: number;
  /** Request-log rows whose keyHash was rewritten. */
  logRows: number;
  plan: P;
}

/**
 * In one transaction: reads up to `take` keys after `afterId` in id order, asks `plan` what to rewrite, and
 * rewrites those keys' values and hashes and their request logs' hashes. A throw from `plan`, or a key that no
 * longer holds the value read (a server is writing), rolls the whole batch back.
 */
export function rewriteKeyBatch<P extends { changes: readonly KeyRewrite[] }>(
  db: DbClient,
  provider: Provider,
  afterId: number,
  take: number,
  plan: (rows: StoredKeyRow[]) => P,
): Promise<KeyRewriteBatch<P>> {
  return db.$transaction(
    async (tx) => {
      if (provider === 'sqlite') {
        // Freed cells are zeroed, so a replaced value does not linger in its page. Per transaction: the pragma
        // holds per connection, and a transaction may run on any connection of the pool.
        await tx.$queryRawUnsafe('PRAGMA secure_delete = ON');
      }
      const rows = await tx.apiKey.findMany({
        where: { id: { gt: afterId } },
        orderBy: { id: 'asc' },
        take,
        select: { id: true, keyValue: true, keyHash: true },
      });
      const planned = plan(rows);
      const logRows = planned.changes.length > 0 ? await applyRewrites(tx, provider, planned.changes) : 0;
      return { rows: rows.length, lastId: rows[rows.length - 1]?.id ?? afterId, logRows, plan: planned };
    },
    { timeout: TX_TIMEOUT_MS, maxWait: TX_MAX_WAIT_MS },
  );
}

type Tx = Parameters<Parameters<DbClient['$transaction']>[0]>[0];

/** Builds statements for one provider: identifier quotes and placeholders differ. */
function sqlFor(provider: Provider) {
  const q = provider === 'mysql' ? '`' : '"';
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return provider === 'postgresql' ? `$${params.length}` : '?';
  };
  /** `CASE col WHEN k THEN v … END` over pairs. */
  const caseOf = (col: string, pairs: Array<[number, string]>) =>
    `CASE ${q}${col}${q} ${pairs.map(([k, v]) => `WHEN ${p(k)} THEN ${p(v)}`).join(' ')} END`;
  return { q, params, p, caseOf };
}

/**
 * Writes a chunk of rewrites in two statements (one per table) instead of two per key: per-row updates made an
 * in-place encryption take ~1 ms a key, minutes for a large pool. Returns the request-log rows rewritten.
 */
async function applyRewrites(tx: Tx, provider: Provider, changes: readonly KeyRewrite[]): Promise<number> {
  let logRows = 0;
  for (let i = 0; i < changes.length; i += ROWS_PER_STATEMENT) {
    const part = changes.slice(i, i + ROWS_PER_STATEMENT);
    const k = sqlFor(provider);
    const keys =
      `UPDATE ${k.q}api_keys${k.q} SET ` +
      `${k.q}keyValue${k.q} = ${k.caseOf(
        'id',
        part.map((c) => [c.id, c.keyValue]),
      )}, ` +
      `${k.q}keyHash${k.q} = ${k.caseOf(
        'id',
        part.map((c) => [c.id, c.keyHash]),
      )} ` +
      `WHERE ${part.map((c) => `(${k.q}id${k.q} = ${k.p(c.id)} AND ${k.q}keyValue${k.q} = ${k.p(c.oldValue)})`).join(' OR ')}`;
    const updated = await tx.$executeRawUnsafe(keys, ...k.params);
    if (updated !== part.length)
      throw new Error(
        `${part.length - updated} stored key(s) changed during the run (is Keyway running?); this batch was ` +
          'rolled back: stop Keyway and run again',
      );
    // Logs hold no ciphertext, only the hash: the old one maps to the new one through the key's id.
    const rehashed = part.filter((c) => c.keyHash !== c.oldHash);
    if (rehashed.length === 0) continue;
    const l = sqlFor(provider);
    const logs =
      `UPDATE ${l.q}request_logs${l.q} SET ` +
      `${l.q}keyHash${l.q} = ${l.caseOf(
        'keyId',
        rehashed.map((c) => [c.id, c.keyHash]),
      )} ` +
      `WHERE ${l.q}keyId${l.q} IN (${rehashed.map((c) => l.p(c.id)).join(', ')}) ` +
      `AND ${l.q}keyHash${l.q} = ${l.caseOf(
        'keyId',
        rehashed.map((c) => [c.id, c.oldHash]),
      )}`;
    logRows += await tx.$executeRawUnsafe(logs, ...l.params);
  }
  return logRows;
}

/** Records the verifier under `key` (see ./encryption), replacing the one stored: the last step of a rotation. */
export async function replaceVerifierRow(db: DbClient, key: string, value: string): Promise<void> {
  await db.setting.upsert({ where: { key }, create: { key, value }, update: { value } });
}

/** Rebuilds the SQLite file (VACUUM) and truncates its WAL, so no freed page keeps an old value. */
export async function compactSqliteFile(db: DbClient): Promise<void> {
  await db.$executeRawUnsafe('VACUUM');
  await db.$queryRawUnsafe('PRAGMA wal_checkpoint(TRUNCATE)');
}
