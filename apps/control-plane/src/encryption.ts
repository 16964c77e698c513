import type { Warning } from '@keyway/contracts';
import type { DbClient } from '@keyway/db';
import {
  countKeys,
  countKeysStartingWith,
  insertVerifierRow,
  oldestAndNewestKeyValues,
  readVerifierRow,
} from '@keyway/db';
import type { EncryptionVerifier, KeyCipher } from '@keyway/keypool';
import {
  ENCRYPTION_VERIFIER_SETTING,
  isInFormatOf,
  parseVerifier,
  SEALED_PREFIX,
  verifierOf,
} from '@keyway/keypool';

const ROTATE = '`pnpm keys:rotate-encryption`';

/** The configured ENCRYPTION_KEY does not fit the stored keys; the message tells the operator what to do. */
export class EncryptionMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncryptionMismatchError';
  }
}

const messages = {
  wrongKey:
    'ENCRYPTION_KEY does not match the key the data was encrypted with; use the original key, or run ' +
    `${ROTATE} (with OLD_ENCRYPTION_KEY set to the original key and NEW_ENCRYPTION_KEY to the new one).`,
  keyButPlain:
    'ENCRYPTION_KEY is set but the stored upstream keys are not encrypted. To encrypt them, stop Keyway and run ' +
    `${ROTATE} with OLD_ENCRYPTION_KEY empty and NEW_ENCRYPTION_KEY set to the key; or set ENCRYPTION_KEY=off ` +
    'to keep them unencrypted.',
  plainButEncrypted:
    'The stored upstream keys are encrypted but ENCRYPTION_KEY is not set (or is off). Set ENCRYPTION_KEY to the ' +
    "key they were encrypted with (a database from standalone: the content of its data directory's " +
    `encryption-key file); to store them unencrypted instead, run ${ROTATE} with OLD_ENCRYPTION_KEY set to that ` +
    'key and NEW_ENCRYPTION_KEY empty.',
  mixed:
    'Some stored upstream keys are encrypted and some are not, probably from an interrupted ' +
    `${ROTATE}. Stop Keyway and run it again with the same OLD_ENCRYPTION_KEY and NEW_ENCRYPTION_KEY to finish.`,
  unreadable:
    `The "${ENCRYPTION_VERIFIER_SETTING}" setting is unreadable. Delete that row from the settings table so ` +
    'Keyway infers the mode from the stored keys on the next start.',
};

function compare(stored: EncryptionVerifier, configured: EncryptionVerifier): string | null {
  if (stored.mode === 'plain') return configured.mode === 'plain' ? null : messages.keyButPlain;
  if (configured.mode === 'plain') return messages.plainButEncrypted;
  return stored.fingerprint === configured.fingerprint ? null : messages.wrongKey;
}

/** How the stored keys are protected, as far as the database tells without a key. */
export interface StoredEncryption {
  /** The recorded mode and fingerprint; null before the first start that recorded one. */
  verifier: EncryptionVerifier | null;
  /** Stored upstream keys. */
  total: number;
  /** Of which in the sealed (`kw1:`) form, whatever key sealed them. */
  sealed: number;
}

/** Reads the verifier and counts sealed keys; throws EncryptionMismatchError when the verifier is unreadable. */
export async function readStoredEncryption(db: DbClient): Promise<StoredEncryption> {
  const stored = await readVerifierRow(db, ENCRYPTION_VERIFIER_SETTING);
  const verifier = stored === null ? null : parseVerifier(stored);
  if (stored !== null && !verifier) throw new EncryptionMismatchError(messages.unreadable);
  const total = await countKeys(db);
  const sealed = total === 0 ? 0 : await countKeysStartingWith(db, SEALED_PREFIX);
  return { verifier, total, sealed };
}

/** With no verifier yet: what the stored keys say about how they were written (null when they fit `cipher`). */
async function inferFromData(
  db: DbClient,
  cipher: KeyCipher,
  state: StoredEncryption,
): Promise<string | null> {
  const { total, sealed } = state;
  if (total === 0) return null;
  if (sealed === 0) return cipher.encrypted ? messages.keyButPlain : null;
  if (sealed < total) return messages.mixed;
  if (!cipher.encrypted) return messages.plainButEncrypted;
  // No fingerprint to compare yet: the oldest and newest keys must open, or the verifier written next would
  // bless the wrong key.
  const probes = await oldestAndNewestKeyValues(db);
  return probes.every((v) => v === null || isInFormatOf(cipher, v)) ? null : messages.wrongKey;
}

/**
 * The start-up check: refuses (EncryptionMismatchError) to run with an ENCRYPTION_KEY that does not fit the
 * stored upstream keys, and records the configured mode and fingerprint on first start. Call it after
 * migrating and before loading keys. Messages name no secrets.
 */
export function checkEncryption(db: DbClient, cipher: KeyCipher): Promise<void> {
  return check(db, cipher, false);
}

async function check(db: DbClient, cipher: KeyCipher, retried: boolean): Promise<void> {
  const configured = verifierOf(cipher);
  const state = await readStoredEncryption(db);
  if (state.verifier) {
    const problem = compare(state.verifier, configured);
    if (problem) throw new EncryptionMismatchError(problem);
    return;
  }
  const problem = await inferFromData(db, cipher, state);
  if (problem) throw new EncryptionMismatchError(problem);
  try {
    await insertVerifierRow(db, ENCRYPTION_VERIFIER_SETTING, JSON.stringify(configured));
  } catch (e) {
    // Another process starting at the same time wrote it first: its verifier must agree with ours too.
    if (retried) throw e;
    await check(db, cipher, true);
  }
}

/** The dashboard warning for keys stored unencrypted; null when they are encrypted. */
export function encryptionWarning(cipher: KeyCipher): Warning | null {
  if (cipher.encrypted) return null;
  return {
    type: 'ENCRYPTION_DISABLED',
    severity: 'high',
    message:
      'Upstream API keys are stored unencrypted: anyone who can read the database or a backup of it can use them.',
    fix:
      'Standalone: remove ENCRYPTION_KEY=off and restart; Keyway then generates a key in its data directory and ' +
      'encrypts the stored keys. Distributed: stop Keyway, run `pnpm keys:rotate-encryption` with ' +
      'NEW_ENCRYPTION_KEY set to a long random secret (e.g. `openssl rand -hex 32`), then start every app with ' +
      'ENCRYPTION_KEY set to the same value.',
  };
}
