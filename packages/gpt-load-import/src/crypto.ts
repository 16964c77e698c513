/**
 * GPT-Load 1.x encryption at rest (internal/encryption/encryption.go, internal/utils/password_utils.go):
 * AES-256-GCM with a key derived by PBKDF2-HMAC-SHA256(ENCRYPTION_KEY, "gpt-load-encryption-v1", 100000, 32),
 * stored as lowercase hex of nonce(12) ‖ ciphertext ‖ tag(16). `key_hash` is HMAC-SHA256 keyed with the derived
 * key when encryption is on, plain SHA-256 otherwise, over the plaintext key.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  pbkdf2Sync,
  randomBytes,
} from 'node:crypto';
import type { GptLoadKeyEncoding } from './types';

const SALT = 'gpt-load-encryption-v1';
const ITERATIONS = 100_000;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Shortest hex text that can be GPT-Load ciphertext: nonce + tag of an empty plaintext. */
const MIN_CIPHERTEXT_CHARS = 2 * (NONCE_BYTES + TAG_BYTES);
const LOWER_HEX = /^[0-9a-f]+$/;

/** The 32-byte AES key GPT-Load derives from its ENCRYPTION_KEY (slow on purpose: derive once per import). */
export function deriveGptLoadKey(encryptionKey: string): Buffer {
  return pbkdf2Sync(Buffer.from(encryptionKey, 'utf8'), SALT, ITERATIONS, 32, 'sha256');
}

/** True when a stored value has the shape of GPT-Load ciphertext (it may still be hex plaintext). */
export function looksLikeCiphertext(stored: string): boolean {
  return stored.length >= MIN_CIPHERTEXT_CHARS && stored.length % 2 === 0 && LOWER_HEX.test(stored);
}

/** Decrypts one stored value; null when it is not ciphertext under this key (GCM authentication fails). */
export function decryptGptLoadValue(aesKey: Buffer, stored: string): string | null {
  if (!looksLikeCiphertext(stored)) return null;
  const b = Buffer.from(stored, 'hex');
  try {
    const d = createDecipheriv('aes-256-gcm', aesKey, b.subarray(0, NONCE_BYTES));
    d.setAuthTag(b.subarray(b.length - TAG_BYTES));
    return Buffer.concat([d.update(b.subarray(NONCE_BYTES, b.length - TAG_BYTES)), d.final()]).toString(
      'utf8',
    );
  } catch {
    return null;
  }
}

/** Encrypts like GPT-Load (fresh random nonce unless one is given); used by the test fixture. */
export function encryptGptLoadValue(
  aesKey: Buffer,
  plaintext: string,
  nonce = randomBytes(NONCE_BYTES),
): string {
  const c = createCipheriv('aes-256-gcm', aesKey, nonce);
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return Buffer.concat([nonce, ct, c.getAuthTag()]).toString('hex');
}

/** GPT-Load's `key_hash`: HMAC-SHA256 under the derived key, or SHA-256 without encryption; '' for ''. */
export function gptLoadKeyHash(aesKey: Buffer | null, plaintext: string): string {
  if (plaintext === '') return '';
  const h = aesKey ? createHmac('sha256', aesKey) : createHash('sha256');
  return h.update(plaintext, 'utf8').digest('hex');
}

/** The result of reading one stored key value. */
export interface DecodedKey {
  value: string | null;
  encoding: GptLoadKeyEncoding;
}

/**
 * Turns a stored `key_value` into the plaintext key, following GPT-Load's own rules: ciphertext under the given
 * key (GCM authenticates it, so a successful decryption is trusted even when a legacy `key_hash` disagrees); a
 * value that cannot be ciphertext (not lowercase hex of nonce + tag) is plaintext (rows written before
 * ENCRYPTION_KEY was set); a hex value is plaintext only when `key_hash` is its SHA-256; else undecryptable.
 */
export function decodeStoredKey(aesKey: Buffer | null, stored: string, keyHash: string | null): DecodedKey {
  if (aesKey) {
    const pt = decryptGptLoadValue(aesKey, stored);
    if (pt !== null) return { value: pt, encoding: 'ciphertext' };
  }
  if (!looksLikeCiphertext(stored) || (keyHash !== null && gptLoadKeyHash(null, stored) === keyHash)) {
    return { value: stored, encoding: 'plaintext' };
  }
  return { value: null, encoding: 'undecryptable' };
}
