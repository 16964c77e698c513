import * as nodeCrypto from 'node:crypto';
import { createHmac, hkdfSync, scryptSync } from 'node:crypto';
import { Worker } from 'node:worker_threads';
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
  /**
   * Bulk forms of `seal`, `open` and `hash` (same results, index for index), for imports of many keys. With an
   * ENCRYPTION_KEY they run in a worker thread: each AES-GCM and HMAC call creates native objects whose garbage
   * collection paused the main thread for 20–80 ms at a time during a 100,000-key import, where the gateway of
   * standalone serves requests. `openMany` rejects with KeyDecryptError like `open` throws. Optional (test
   * doubles): {@link sealAll}, {@link openAll} and {@link hashAll} fall back to one call per key, in slices.
   */
  sealMany?(plains: readonly string[]): Promise<string[]>;
  openMany?(stored: readonly string[]): Promise<string[]>;
  hashMany?(plains: readonly string[]): Promise<string[]>;
}

type Sealing = Pick<KeyCipher, 'seal' | 'open' | 'hash' | 'sealMany' | 'openMany' | 'hashMany'>;

/** `plains` sealed, with the cipher's bulk form when it has one. */
export function sealAll(cipher: Sealing, plains: readonly string[]): Promise<string[]> {
  return cipher.sealMany ? cipher.sealMany(plains) : mapYielding(plains, (p) => cipher.seal(p));
}

/** `stored` opened, with the cipher's bulk form when it has one; rejects with what `open` throws. */
export function openAll(cipher: Sealing, stored: readonly string[]): Promise<string[]> {
  return cipher.openMany ? cipher.openMany(stored) : mapYielding(stored, (s) => cipher.open(s));
}

/** `plains` hashed, with the cipher's bulk form when it has one. */
export function hashAll(cipher: Sealing, plains: readonly string[]): Promise<string[]> {
  return cipher.hashMany ? cipher.hashMany(plains) : mapYielding(plains, (p) => cipher.hash(p));
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

const VERIFIER_INPUT = 'keyway encryption-key verifier v1';

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

/** `items.map(fn)` with a turn of the event loop every `every` items: the plain cipher's bulk forms. */
async function mapYielding(
  items: readonly string[],
  fn: (s: string) => string,
  every = 100,
): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < items.length; i++) {
    out.push(fn(items[i] as string));
    if (i % every === every - 1) await new Promise((r) => setImmediate(r));
  }
  return out;
}

const plainCipher: KeyCipher = {
  encrypted: false,
  seal: (plain) => plain,
  // Identity, as before encryption existed: the start-up check is what keeps sealed data from a plain cipher.
  open: (stored) => stored,
  hash: (plain) => hashUpstreamKey(plain),
  fingerprint: () => null,
  sealMany: (plains) => Promise.resolve([...plains]),
  openMany: (stored) => Promise.resolve([...stored]),
  hashMany: (plains) => mapYielding(plains, (p) => hashUpstreamKey(p)),
};

/** What `open` of {@link sealingOps} throws: only a reason, never the value. */
interface OpenFailure {
  reason: KeyDecryptReason;
}

/**
 * The kw1 format's seal, open and (peppered) hash, given node:crypto and the derived keys. Self-contained (it
 * refers to nothing outside its body), because the bulk worker thread runs its source text: one copy of the
 * format for both threads. `open` throws an Error with an {@link OpenFailure}'s reason (and no value).
 */
function sealingOps(crypto: typeof nodeCrypto, encKey: Buffer, pepper: Buffer) {
  const prefix = 'kw1:';
  const ivBytes = 12;
  const tagBytes = 16;
  // Binds ciphertexts to the format version, so a value cannot be replayed under a later format.
  const aad = Buffer.from('kw1');
  const fail = (reason: string) => Object.assign(new Error(reason), { reason });
  const base64url = /^[A-Za-z0-9_-]+$/;
  return {
    seal: (plain: string): string => {
      const iv = crypto.randomBytes(ivBytes);
      const c = crypto.createCipheriv('aes-256-gcm', encKey, iv, { authTagLength: tagBytes });
      c.setAAD(aad);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return prefix + Buffer.concat([iv, body, c.getAuthTag()]).toString('base64url');
    },
    open: (stored: string): string => {
      if (!stored.startsWith(prefix)) throw fail('not-sealed');
      const encoded = stored.slice(prefix.length);
      // Buffer.from skips characters it does not know; checking first keeps a mangled value from half-decoding.
      if (!base64url.test(encoded)) throw fail('malformed');
      const raw = Buffer.from(encoded, 'base64url');
      if (raw.length < ivBytes + tagBytes) throw fail('malformed');
      const d = crypto.createDecipheriv('aes-256-gcm', encKey, raw.subarray(0, ivBytes), {
        authTagLength: tagBytes,
      });
      d.setAAD(aad);
      d.setAuthTag(raw.subarray(raw.length - tagBytes));
      try {
        const out = Buffer.concat([d.update(raw.subarray(ivBytes, raw.length - tagBytes)), d.final()]);
        return out.toString('utf8');
      } catch {
        // OpenSSL's own message says nothing useful; ours says what to check.
        throw fail('authentication');
      }
    },
    hash: (plain: string): string => crypto.createHmac('sha256', pepper).update(plain).digest('hex'),
  };
}

/** Values per message to the bulk worker: 2,000 keys are ~0.1 s of its CPU and ~1 ms to copy on either side. */
const BULK_BATCH = 2000;

/** The worker thread's program: {@link sealingOps} applied to each batch it is sent. */
const BULK_WORKER = `
var __name = (f) => f;
const { parentPort, workerData } = require('node:worker_threads');
const ops = (${sealingOps.toString()})(require('node:crypto'), Buffer.from(workerData.encKey), Buffer.from(workerData.pepper));
parentPort.on('message', (m) => {
  const out = [];
  try {
    for (const item of m.items) out.push(ops[m.op](item));
    parentPort.postMessage({ id: m.id, out });
  } catch (e) {
    parentPort.postMessage({ id: m.id, reason: (e && e.reason) || 'malformed' });
  }
});
`;

type BulkOp = 'seal' | 'open' | 'hash';

/** How long the bulk thread is kept after its last batch. */
const BULK_IDLE_MS = 10_000;

/**
 * One worker thread for the bulk forms, started on first use, unreferenced while idle (it never keeps a
 * process alive) and ended after 10 s without work (a thread costs ~12 MiB; bulk work comes in bursts). Batches go one
 * at a time, so sending never copies a whole 100,000-key list in one go.
 */
function bulkRunner(encKey: Buffer, pepper: Buffer) {
  let worker: Worker | null = null;
  let idle: NodeJS.Timeout | null = null;
  let nextId = 0;
  const pending = new Map<number, { resolve: (out: string[]) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    worker = null;
  };
  const start = (): Worker => {
    const w = new Worker(BULK_WORKER, { eval: true, workerData: { encKey, pepper } });
    w.unref();
    w.on('message', (m: { id: number; out?: string[]; reason?: KeyDecryptReason }) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (pending.size === 0) {
        w.unref();
        // A thread is ~12 MiB of memory: bulk work comes in bursts (start-up, imports), so it goes when idle.
        idle = setTimeout(() => {
          if (worker !== w || pending.size > 0) return;
          worker = null;
          void w.terminate();
        }, BULK_IDLE_MS);
        idle.unref();
      }
      if (m.out) p.resolve(m.out);
      else p.reject(new KeyDecryptError(m.reason ?? 'malformed'));
    });
    w.on('error', (err) => failAll(err));
    w.on('exit', (code) => {
      if (worker === w) failAll(new Error(`the key-sealing worker thread exited (code ${code})`));
    });
    return w;
  };
  const batch = (op: BulkOp, items: string[]): Promise<string[]> =>
    new Promise((resolve, reject) => {
      if (idle) clearTimeout(idle);
      idle = null;
      worker ??= start();
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, op, items });
    });
  return async (op: BulkOp, items: readonly string[]): Promise<string[]> => {
    const out: string[] = [];
    // Two batches in flight: the worker starts the next while this thread takes the last one's results.
    let ahead: Promise<string[]> | null = null;
    for (let i = 0; i < items.length || ahead; i += BULK_BATCH) {
      const next = i < items.length ? batch(op, items.slice(i, i + BULK_BATCH)) : null;
      if (ahead) for (const v of await ahead) out.push(v);
      ahead = next;
    }
    return out;
  };
}

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

  const ops = sealingOps(nodeCrypto, encKey, pepper);
  const bulk = bulkRunner(encKey, pepper);

  // The derived keys live only in this closure: the returned object has nothing to print or serialise.
  return {
    encrypted: true,
    seal: ops.seal,
    open(stored) {
      try {
        return ops.open(stored);
      } catch (e) {
        throw new KeyDecryptError((e as OpenFailure).reason);
      }
    },
    hash: ops.hash,
    sealMany: (plains) => bulk('seal', plains),
    openMany: (stored) => bulk('open', stored),
    hashMany: (plains) => bulk('hash', plains),
    fingerprint: () => fingerprint,
  };
}
