import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, scryptSync } from 'node:crypto';
import { hashUpstreamKey } from './secrets';

/** How upstream keys are stored: `seal` before writing, `open` after reading, `hash` for de-duplication/search. */
export interface KeyCipher {
  /** True when values are sealed with AES-256-GCM (an ENCRYPTION_KEY is configured). */
  readonly encrypted: boolean;
  /** The stored form of a key: `kw1:…` when encrypting, the key itself otherwise. */
  seal(plain: string): string;
  /** The key a stored value holds; throws KeyDecryptError when it cannot be opened with this cipher. */
  open(stored: string): string;
  /** Hex hash for de-duplication and search: HMAC-SHA256 with a derived pepper when encrypting, else SHA-256. */
  hash(plain: string): string;
  /** Identifies the encryption key without revealing it (for the start-up check); null when not encrypting. */
  fingerprint(): string | null;
}

/** Why a stored value could not be opened. */
export type KeyDecryptReason = 'not-sealed' | 'malformed' | 'authentication';

/** A stored key that does not open: tampered with, truncated, or sealed with another key. Never holds the value. */
export class KeyDecryptError extends Error {
  readonly reason: KeyDecryptReason;

  constructor(reason: KeyDecryptReason) {
    super(
      reason === 'authentication'
        ? 'stored key failed authentication: it was encrypted with another ENCRYPTION_KEY or has been altered'
        : reason === 'not-sealed'
          ? 'stored key is not encrypted but ENCRYPTION_KEY is set'
          : 'stored key is not a valid kw1 ciphertext',
    );
    this.name = 'KeyDecryptError';
    this.reason = reason;
  }
}

/** What the `encryptionVerifier` setting holds: how the stored keys are protected, and with which key. */
export type EncryptionVerifier = { mode: 'plain' } | { mode: 'aes-256-gcm'; fingerprint: string };

/** The settings row (key) that holds the JSON of an EncryptionVerifier. */
export const ENCRYPTION_VERIFIER_SETTING = 'encryptionVerifier';

/** Prefix of a sealed value; the `1` versions the whole format (KDF, cipher, layout) so it can change later. */
export const SEALED_PREFIX = 'kw1:';

/**
 * Fixed scrypt salt. A per-install salt would have to be stored next to the data and read before the first
 * key opens; a fixed, Keyway-specific one still rules out generic precomputed tables, and ENCRYPTION_KEY itself
 * must pass the weak-secret check, so scrypt is a second line of defence rather than the only one.
 * Changing it (or any parameter below) makes existing data unreadable: bump SEALED_PREFIX instead.
 */
const SCRYPT_SALT = 'keyway/encryption-key/v1';
/** N=2^15, r=8, p=1: 32 MiB, about 0.1–0.2 s once per process start. */
const SCRYPT_N = 2 ** 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
/** Node's default maxmem (32 MiB) is exactly what N=2^15, r=8 needs, and scrypt wants a little more. */
const SCRYPT_MAXMEM = 64 * 1024 * 1024;

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Binds ciphertexts to the format version, so a value cannot be replayed under a later format. */
const AAD = Buffer.from('kw1');
const VERIFIER_INPUT = 'keyway encryption-key verifier v1';
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** True when a stored value has the sealed (`kw1:`) form, whatever key sealed it. */
export function isSealedValue(stored: string): boolean {
  return stored.startsWith(SEALED_PREFIX);
}

/** The verifier a cipher would write: its mode and, when encrypting, its fingerprint. */
export function verifierOf(cipher: KeyCipher): EncryptionVerifier {
  const fingerprint = cipher.fingerprint();
  return fingerprint === null ? { mode: 'plain' } : { mode: 'aes-256-gcm', fingerprint };
}

/** Reads the `encryptionVerifier` setting's JSON; null when it is not a verifier. */
export function parseVerifier(json: string): EncryptionVerifier | null {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || !('mode' in v)) return null;
  if (v.mode === 'plain') return { mode: 'plain' };
  if (v.mode === 'aes-256-gcm' && 'fingerprint' in v && typeof v.fingerprint === 'string' && v.fingerprint)
    return { mode: 'aes-256-gcm', fingerprint: v.fingerprint };
  return null;
}

/** True when a stored value is already in `cipher`'s form (sealed with its key, or plain for a plain cipher). */
export function isInFormatOf(cipher: KeyCipher, stored: string): boolean {
  if (!cipher.encrypted) return !isSealedValue(stored);
  try {
    cipher.open(stored);
    return true;
  } catch (e) {
    if (e instanceof KeyDecryptError) return false;
    throw e;
  }
}

function subkey(master: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
}

const plainCipher: KeyCipher = {
  encrypted: false,
  seal: (plain) => plain,
  // Identity, as before encryption existed: the start-up check is what keeps sealed data from a plain cipher.
  open: (stored) => stored,
  hash: (plain) => hashUpstreamKey(plain),
  fingerprint: () => null,
};

/**
 * The cipher for an ENCRYPTION_KEY: AES-256-GCM with a random 96-bit IV per value, stored as
 * `kw1:<base64url(iv | ciphertext | tag)>`, keys derived by scrypt then HKDF (one subkey each for encryption,
 * the hash pepper and the fingerprint). Unset or blank: values stored as given, hashed with plain SHA-256, as
 * data written before encryption existed. Derivation costs ~0.1–0.2 s: build one cipher per process.
 */
export function createKeyCipher(encryptionKey: string | undefined): KeyCipher {
  // Blank counts as unset, like loadEnv treats `ENCRYPTION_KEY=` in a .env file.
  if (encryptionKey === undefined || encryptionKey.trim() === '') return plainCipher;
  const master = scryptSync(encryptionKey, SCRYPT_SALT, 32, {
    N: SCRYPT_N,
    r: SCRYPT_R,
    p: SCRYPT_P,
    maxmem: SCRYPT_MAXMEM,
  });
  const encKey = subkey(master, 'keyway aes-256-gcm key v1');
  const pepper = subkey(master, 'keyway key-hash pepper v1');
  const fingerprint = `v1:${createHmac('sha256', subkey(master, 'keyway verifier key v1')).update(VERIFIER_INPUT).digest('hex')}`;
  master.fill(0);

  // The derived keys live only in this closure: the returned object has nothing to print or serialise.
  return {
    encrypted: true,
    seal(plain) {
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv('aes-256-gcm', encKey, iv, { authTagLength: TAG_BYTES });
      c.setAAD(AAD);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return SEALED_PREFIX + Buffer.concat([iv, body, c.getAuthTag()]).toString('base64url');
    },
    open(stored) {
      if (!isSealedValue(stored)) throw new KeyDecryptError('not-sealed');
      const encoded = stored.slice(SEALED_PREFIX.length);
      // Buffer.from skips characters it does not know; checking first keeps a mangled value from half-decoding.
      if (!BASE64URL.test(encoded)) throw new KeyDecryptError('malformed');
      const raw = Buffer.from(encoded, 'base64url');
      if (raw.length < IV_BYTES + TAG_BYTES) throw new KeyDecryptError('malformed');
      const d = createDecipheriv('aes-256-gcm', encKey, raw.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      d.setAAD(AAD);
      d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      try {
        const out = Buffer.concat([d.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), d.final()]);
        return out.toString('utf8');
      } catch {
        // OpenSSL's own message says nothing useful; ours says what to check.
        throw new KeyDecryptError('authentication');
      }
    },
    hash: (plain) => hashUpstreamKey(plain, pepper),
    fingerprint: () => fingerprint,
  };
}
