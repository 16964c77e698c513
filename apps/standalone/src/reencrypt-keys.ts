// Converts every stored upstream key from one cipher to another, batch by batch: the one loop behind
// `pnpm keys:rotate-encryption` and standalone's encryption of a plaintext database at start.
//
// Safe to interrupt at any point: every batch is one transaction that rewrites its keys' values, their keyed
// hashes and the hashes in their request logs together, and is rolled back if any key no longer holds what was
// read; values already under the new cipher are skipped, never sealed twice. The caller writes the verifier last (`writeVerifier`), so
// an interrupted run is finished by running it again with the same ciphers.
import {
  compactSqliteFile,
  replaceVerifierRow,
  rewriteKeyBatch,
  storedKeyValuePage,
  yieldToLoop,
} from '@keyway/db';
import type { DbClient, KeyRewrite, Provider, StoredKeyRow } from '@keyway/db';
import type { KeyCipher } from '@keyway/keypool';
import { ENCRYPTION_VERIFIER_SETTING, isSealedValue, KeyDecryptError, verifierOf } from '@keyway/keypool';

/** Rows per transaction: small enough to keep locks short, large enough that a million keys take minutes. */
export const REENCRYPT_BATCH = 1000;

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
    const rows = await storedKeyValuePage(db, cursor, batch);
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

/**
 * Decides a batch's rewrites: each key in `from`'s form is sealed with `to`; a key already in `to`'s form keeps
 * its value, but its hash is recomputed under `to` (an interrupted run may have left the old one). A key in
 * neither form throws, which rolls the batch back.
 */
function planBatch(rows: StoredKeyRow[], from: KeyCipher, to: KeyCipher) {
  const changes: KeyRewrite[] = [];
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
  return { changes, converted, skipped };
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
  const batchSize = opts.batchSize ?? REENCRYPT_BATCH;
  const progress: ReencryptProgress = { seen: 0, converted: 0, alreadyDone: 0, logRows: 0 };
  for (let cursor = 0; ;) {
    const done = await rewriteKeyBatch(db, opts.provider, cursor, batchSize, (rows) =>
      planBatch(rows, from, to),
    );
    if (done.rows === 0) break;
    cursor = done.lastId;
    progress.seen += done.rows;
    progress.converted += done.plan.converted;
    progress.alreadyDone += done.plan.skipped;
    progress.logRows += done.logRows;
    await opts.onBatch?.({ ...progress });
    await yieldToLoop();
  }
  return progress;
}

/** Records how the stored keys are now protected: the last step, once every value is in `cipher`'s form. */
export async function writeVerifier(db: DbClient, cipher: KeyCipher): Promise<void> {
  await replaceVerifierRow(db, ENCRYPTION_VERIFIER_SETTING, JSON.stringify(verifierOf(cipher)));
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
      await compactSqliteFile(db);
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
