// Converts every stored upstream key from one cipher to another, batch by batch: the one loop behind
// `pnpm keys:rotate-encryption` and standalone's encryption of a plaintext database at start.
//
// Safe to interrupt at any point: every batch is one transaction that rewrites its keys' values, their keyed
// hashes and the hashes in their request logs together, and is rolled back if any key no longer holds what was
// read; values already under the new cipher are skipped, never sealed twice. The caller writes the verifier last (`writeVerifier`), so
// an interrupted run is finished by running it again with the same ciphers.
import { yieldToLoop } from '@keyway/db';
import type { DbClient, Provider } from '@keyway/db';
import type { KeyCipher } from '@keyway/keypool';
import { ENCRYPTION_VERIFIER_SETTING, isSealedValue, KeyDecryptError, verifierOf } from '@keyway/keypool';

/** Rows per transaction: small enough to keep locks short, large enough that a million keys take minutes. */
export const REENCRYPT_BATCH = 1000;
/** Generous: a batch is 1000 single-row updates plus the matching log updates, on a possibly remote database. */
const TX_TIMEOUT_MS = 5 * 60_000;

/** What the stored keys look like from `from` to `to`. */
export interface KeyScan {
  total: number;
  /** Keys still in `from`'s form. */
  pending: number;
  /** Ids of keys in neither form (sealed with some other key), ascending. */
  strangers: number[];
}

/** Reads every key once before changing anything: each must be in `from`'s or `to`'s form. */
export async function scanKeys(
  db: DbClient,
  from: KeyCipher,
  to: KeyCipher,
  batch = REENCRYPT_BATCH,
): Promise<KeyScan> {
  const scan: KeyScan = { total: 0, pending: 0, strangers: [] };
  for (let cursor = 0; ;) {
    const rows = await db.apiKey.findMany({
      where: { id: { gt: cursor } },
      orderBy: { id: 'asc' },
      take: batch,
      select: { id: true, keyValue: true },
    });
    if (rows.length === 0) break;
    for (const r of rows) {
      scan.total++;
      if (openIfOwn(to, r.keyValue) !== null) continue;
      if (openIfOwn(from, r.keyValue) !== null) scan.pending++;
      else scan.strangers.push(r.id);
    }
    cursor = rows[rows.length - 1]?.id ?? cursor;
    // Opening a batch of sealed values is synchronous work: let requests and timers run between batches.
    await yieldToLoop();
  }
  return scan;
}

/** Running totals, reported after every committed batch. */
export interface ReencryptProgress {
  /** Keys looked at so far. */
  seen: number;
  /** Keys this run converted. */
  converted: number;
  /** Keys already under `to` (an interrupted earlier run, or the same cipher). */
  alreadyDone: number;
  /** Request-log rows whose keyHash was recomputed. */
  logRows: number;
}

/** Options of {@link reencryptKeys}. */
export interface ReencryptOptions {
  provider: Provider;
  batchSize?: number;
  /** Called after each committed batch; a throw stops the run there (tests use it to simulate a crash). */
  onBatch?: (progress: ReencryptProgress) => void | Promise<void>;
}

/**
 * The key a stored value holds if `cipher` wrote it; null when it did not. Opens once and checks the form first:
 * a failed open builds an error with a stack, several times the cost of the decryption itself.
 */
function openIfOwn(cipher: KeyCipher, stored: string): string | null {
  if (!isSealedValue(stored)) return cipher.encrypted ? null : stored;
  if (!cipher.encrypted) return null;
  try {
    return cipher.open(stored);
  } catch (e) {
    if (e instanceof KeyDecryptError) return null;
    throw e;
  }
}

type Tx = Parameters<Parameters<DbClient['$transaction']>[0]>[0];

/** One key's new stored form. */
interface Change {
  id: number;
  oldValue: string;
  oldHash: string;
  keyValue: string;
  keyHash: string;
}

/** Rows per statement: 6 parameters each stays far below every database's parameter limit. */
const ROWS_PER_STATEMENT = 500;

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
 * Writes a chunk of changes in two statements (one per table) instead of two per key: per-row updates made an
 * in-place encryption take ~1 ms a key, minutes for a large pool. Each key is rewritten only if it still holds
 * the value read; when one does not, the batch's transaction is rolled back (a server is writing: stop it first).
 */
async function applyChanges(tx: Tx, provider: Provider, changes: Change[]): Promise<number> {
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

/** One batch after `cursor`, in its own transaction. */
async function convertBatch(
  tx: Tx,
  from: KeyCipher,
  to: KeyCipher,
  cursor: number,
  opts: ReencryptOptions & { batchSize: number },
) {
  if (opts.provider === 'sqlite') {
    // Freed cells are zeroed, so a replaced value does not linger in its page. Per transaction: the pragma holds
    // per connection, and a transaction may run on any connection of the pool.
    await tx.$queryRawUnsafe('PRAGMA secure_delete = ON');
  }
  const rows = await tx.apiKey.findMany({
    where: { id: { gt: cursor } },
    orderBy: { id: 'asc' },
    take: opts.batchSize,
    select: { id: true, keyValue: true, keyHash: true },
  });
  const changes: Change[] = [];
  let converted = 0;
  let skipped = 0;
  for (const r of rows) {
    let plain = openIfOwn(to, r.keyValue);
    let keyValue = r.keyValue;
    if (plain === null) {
      plain = openIfOwn(from, r.keyValue);
      if (plain === null)
        throw new Error(
          `stored key ${r.id} changed during the run and opens with neither key; stop Keyway first`,
        );
      keyValue = to.seal(plain);
      converted++;
    } else skipped++;
    const keyHash = to.hash(plain);
    if (keyValue !== r.keyValue || keyHash !== r.keyHash)
      changes.push({ id: r.id, oldValue: r.keyValue, oldHash: r.keyHash, keyValue, keyHash });
  }
  const logs = changes.length > 0 ? await applyChanges(tx, opts.provider, changes) : 0;
  return { n: rows.length, last: rows[rows.length - 1]?.id ?? cursor, converted, skipped, logs };
}

/**
 * Rewrites every stored key from `from`'s form to `to`'s, with its keyed hash and its request logs' hashes, one
 * transaction per batch, yielding to the event loop between batches. Check with {@link scanKeys} first: a key in
 * neither form stops the run with an error (batches before it stay committed and consistent).
 */
export async function reencryptKeys(
  db: DbClient,
  from: KeyCipher,
  to: KeyCipher,
  opts: ReencryptOptions,
): Promise<ReencryptProgress> {
  const o = { ...opts, batchSize: opts.batchSize ?? REENCRYPT_BATCH };
  const progress: ReencryptProgress = { seen: 0, converted: 0, alreadyDone: 0, logRows: 0 };
  for (let cursor = 0; ;) {
    const done = await db.$transaction((tx) => convertBatch(tx, from, to, cursor, o), {
      timeout: TX_TIMEOUT_MS,
      maxWait: 60_000,
    });
    if (done.n === 0) break;
    cursor = done.last;
    progress.seen += done.n;
    progress.converted += done.converted;
    progress.alreadyDone += done.skipped;
    progress.logRows += done.logs;
    await opts.onBatch?.({ ...progress });
    await yieldToLoop();
  }
  return progress;
}

/** Records how the stored keys are now protected: the last step, once every value is in `cipher`'s form. */
export async function writeVerifier(db: DbClient, cipher: KeyCipher): Promise<void> {
  const value = JSON.stringify(verifierOf(cipher));
  await db.setting.upsert({
    where: { key: ENCRYPTION_VERIFIER_SETTING },
    create: { key: ENCRYPTION_VERIFIER_SETTING, value },
    update: { value },
  });
}

/** Old plaintext must not survive in free space: SQLite zeroes what it frees, then rebuilds the file. */
export async function scrubFreeSpace(
  db: DbClient,
  provider: Provider,
  log: (line: string) => void,
): Promise<void> {
  if (provider === 'sqlite') {
    log('compacting the SQLite file (VACUUM) so no old value stays in its free pages…');
    try {
      await db.$executeRawUnsafe('VACUUM');
      await db.$queryRawUnsafe('PRAGMA wal_checkpoint(TRUNCATE)');
    } catch (e) {
      // The keys are converted and the verifier written; only the clean-up failed (e.g. no room for the copy).
      log(
        `WARNING: VACUUM failed (${(e as Error).message.split('\n')[0] ?? ''}); old values may remain in free ` +
          'pages until you run `sqlite3 <file> VACUUM` with enough free disk space.',
      );
    }
    return;
  }
  log(
    provider === 'postgresql'
      ? 'NOTE: PostgreSQL keeps old row versions until they are vacuumed: run `VACUUM FULL api_keys;` to purge them.'
      : 'NOTE: MySQL may keep old row images in undo logs and free space: run `OPTIMIZE TABLE api_keys;`.',
  );
  log('Backups made before this run still hold the old values.');
}
