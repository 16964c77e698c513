// Standalone encrypts upstream keys by default: ENCRYPTION_KEY when set, else a key kept in the data directory
// (generated on first start, like the admin key), and a database that still holds plaintext keys is encrypted in
// place before they are loaded. Only `ENCRYPTION_KEY=off` keeps them unencrypted.
import { isWeakSecret } from '@keyway/config';
import type { StoredEncryption } from '@keyway/control-plane';
import { checkEncryption, EncryptionMismatchError, readStoredEncryption } from '@keyway/control-plane';
import type { DbConnection } from '@keyway/db';
import type { KeyCipher } from '@keyway/keypool';
import { createKeyCipher } from '@keyway/keypool';
import type { Logger } from '@keyway/observability';
import type { DataSecretSpec } from './data-secret';
import { dataSecretPath, generateSecretValue, readDataSecret, writeDataSecret } from './data-secret';
import type { ReencryptProgress } from './reencrypt-keys';
import { reencryptKeys, scanKeys, scrubFreeSpace, writeVerifier } from './reencrypt-keys';

/** Where standalone keeps the encryption key it generated (DATA_DIR/encryption-key). */
export const ENCRYPTION_KEY_FILE: DataSecretSpec = { file: 'encryption-key', prefix: 'kw-enc-' };

/** Where the encryption key came from. */
export type EncryptionKeySource = 'env' | 'file' | 'generated' | 'off';

/** What {@link prepareEncryption} reads from the environment. */
export interface EncryptionEnv {
  ENCRYPTION_KEY?: string | undefined;
  encryptionOff: boolean;
  DATA_DIR: string;
}

/** Test seams: batch size and a hook after each committed batch (a throw simulates a crash there). */
export interface PrepareOptions {
  batchSize?: number;
  onBatch?: (progress: ReencryptProgress) => void | Promise<void>;
}

const ROTATE = '`pnpm keys:rotate-encryption`';

function isEncryptedData(state: StoredEncryption): boolean {
  return state.verifier?.mode === 'aes-256-gcm' || state.sealed > 0;
}

/**
 * The encryption key for this start: ENCRYPTION_KEY, else the kept file, else a new one written there — but never
 * a new one for data that is already encrypted (that key is lost, or elsewhere: say so instead).
 */
function resolveKey(
  env: EncryptionEnv,
  state: StoredEncryption,
  logger: Logger,
): { key: string; source: EncryptionKeySource; file: string } {
  const file = dataSecretPath(ENCRYPTION_KEY_FILE, env.DATA_DIR);
  if (env.ENCRYPTION_KEY) return { key: env.ENCRYPTION_KEY, source: 'env', file };
  const kept = readDataSecret(file);
  if (kept) {
    if (kept.loose)
      logger.warn(
        { file, mode: kept.loose.mode.toString(8) },
        'the encryption key file is readable by other users and could not be made private: restrict it (chmod 600) or its directory',
      );
    const weak = kept.value ? isWeakSecret(kept.value) : { level: 'refuse', reason: 'it is empty' };
    // A damaged key file is never replaced: the data may be encrypted with what it held.
    if (weak?.level === 'refuse')
      throw new EncryptionMismatchError(
        `The encryption key in ${file} is unusable (${weak.reason}). Restore that file from your backup, or set ` +
          'ENCRYPTION_KEY to the key the stored upstream keys are encrypted with.',
      );
    return { key: kept.value, source: 'file', file };
  }
  if (isEncryptedData(state))
    throw new EncryptionMismatchError(
      `The stored upstream keys are encrypted, but ENCRYPTION_KEY is not set and ${file} does not exist. Restore ` +
        'that file from your backup (or copy it from the data directory this database came from), or set ' +
        'ENCRYPTION_KEY to the key they were encrypted with.',
    );
  const key = writeDataSecret(file, generateSecretValue(ENCRYPTION_KEY_FILE), { replace: false });
  return { key, source: 'generated', file };
}

/** Encrypts plaintext keys left from a start without encryption (or finishes an interrupted run), resumably. */
async function encryptInPlace(
  conn: DbConnection,
  cipher: KeyCipher,
  state: StoredEncryption,
  logger: Logger,
  opts: PrepareOptions,
): Promise<void> {
  const plain = createKeyCipher(undefined);
  if (state.total > 0) {
    const scan = await scanKeys(conn.prisma, plain, cipher, opts.batchSize);
    if (scan.strangers.length > 0)
      throw new EncryptionMismatchError(
        `${scan.strangers.length} stored upstream key(s) are encrypted with a key other than the configured ` +
          'encryption key (ENCRYPTION_KEY or the kept encryption-key file). Use the key they were encrypted with, or ' +
          `run ${ROTATE} to convert them.`,
      );
    if (scan.pending > 0) {
      logger.warn(
        { total: scan.total, pending: scan.pending },
        'encrypting the stored upstream keys in place; an interrupted run continues on the next start',
      );
      const started = Date.now();
      const done = await reencryptKeys(conn.prisma, plain, cipher, {
        provider: conn.provider,
        batchSize: opts.batchSize,
        onBatch: async (p) => {
          logger.info({ seen: p.seen, total: scan.total, converted: p.converted }, 'encrypting stored keys');
          await opts.onBatch?.(p);
        },
      });
      logger.info(
        { converted: done.converted, logRows: done.logRows, ms: Date.now() - started },
        'stored upstream keys encrypted',
      );
    }
  }
  // Last: until the verifier names this key, the next start redoes (and so finishes) the steps above.
  await writeVerifier(conn.prisma, cipher);
  // Values stored before may linger in free pages (and deleted keys' values, written before encryption existed).
  if (state.total > 0 || state.verifier?.mode === 'plain')
    await scrubFreeSpace(conn.prisma, conn.provider, (line) => logger.info({}, line));
}

/**
 * Start-up: picks the encryption key, encrypts a plaintext database in place, then runs the shared check that
 * refuses a key that does not fit the data (EncryptionMismatchError, naming no secret). Call after migrating and
 * before loading keys; the key is registered with the logger so it is never printed.
 */
export async function prepareEncryption(
  conn: DbConnection,
  env: EncryptionEnv,
  logger: Logger,
  opts: PrepareOptions = {},
): Promise<{ cipher: KeyCipher; source: EncryptionKeySource; file: string }> {
  const state = await readStoredEncryption(conn.prisma);
  const file = dataSecretPath(ENCRYPTION_KEY_FILE, env.DATA_DIR);
  if (env.encryptionOff) {
    if (isEncryptedData(state))
      throw new EncryptionMismatchError(
        'ENCRYPTION_KEY=off, but the stored upstream keys are encrypted. Remove ENCRYPTION_KEY=off to use the key ' +
          `kept in ${file} (or set ENCRYPTION_KEY to their key). To store them unencrypted, stop Keyway and run ` +
          `${ROTATE} with OLD_ENCRYPTION_KEY set to that key and NEW_ENCRYPTION_KEY empty.`,
      );
    logger.warn({}, 'ENCRYPTION_KEY=off: upstream keys are stored unencrypted');
    const cipher = createKeyCipher(undefined);
    await checkEncryption(conn.prisma, cipher);
    return { cipher, source: 'off', file };
  }

  const resolved = resolveKey(env, state, logger);
  logger.registerSecret(resolved.key, 'encryptionKey');
  if (resolved.source === 'generated')
    logger.warn(
      { file: resolved.file },
      'generated an encryption key for the stored upstream keys (mode 0600). Back this file up with the database: ' +
        'without it the stored keys cannot be read. Moving to distributed mode, set ENCRYPTION_KEY to its content.',
    );
  // One cipher per process: deriving the key takes ~150 ms on purpose (scrypt).
  const cipher = createKeyCipher(resolved.key);
  if (state.verifier?.mode !== 'aes-256-gcm') await encryptInPlace(conn, cipher, state, logger, opts);
  try {
    await checkEncryption(conn.prisma, cipher);
  } catch (e) {
    if (e instanceof EncryptionMismatchError && resolved.source === 'file')
      throw new EncryptionMismatchError(
        `${e.message} (ENCRYPTION_KEY is not set, so Keyway used the key kept in ${resolved.file}.)`,
      );
    throw e;
  }
  return { cipher, source: resolved.source, file: resolved.file };
}
