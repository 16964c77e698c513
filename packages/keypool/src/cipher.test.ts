import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createKeyCipher,
  hashAll,
  isInFormatOf,
  isSealedValue,
  KeyDecryptError,
  openAll,
  parseVerifier,
  sealAll,
  SEALED_PREFIX,
  verifierOf,
} from './cipher';
import { hashUpstreamKey } from './secrets';

const KEY_A = 'kw-test-encryption-key-9f2c4e7a1b3d5e6f';
const KEY_B = 'kw-test-encryption-key-0a8d6c4b2e1f3a5c';
const SECRET = 'sk-proj-FAKE-cipher-test-secret-00000000';

// Deriving costs ~0.1–0.2 s, so each key is derived once for the whole file.
const a = createKeyCipher(KEY_A);
const aAgain = createKeyCipher(KEY_A);
const b = createKeyCipher(KEY_B);
const plain = createKeyCipher(undefined);

/** Decodes a sealed value's payload (iv | ciphertext | tag). */
function payload(stored: string): Buffer {
  return Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64url');
}

function openError(cipher: ReturnType<typeof createKeyCipher>, stored: string): unknown {
  try {
    cipher.open(stored);
  } catch (e) {
    return e;
  }
  return null;
}

describe('createKeyCipher with an ENCRYPTION_KEY', () => {
  it('round-trips keys, including empty and non-ASCII ones', () => {
    for (const v of [SECRET, '', 'clé-🔑-ключ', 'x'.repeat(4096)]) expect(a.open(a.seal(v))).toBe(v);
    expect(a.encrypted).toBe(true);
  });

  it('stores kw1:<base64url(iv12 | ciphertext | tag16)> without the key in it', () => {
    const stored = a.seal(SECRET);
    expect(stored).toMatch(/^kw1:[A-Za-z0-9_-]+$/);
    expect(payload(stored).length).toBe(12 + Buffer.byteLength(SECRET) + 16);
    expect(stored).not.toContain(SECRET);
    expect(isSealedValue(stored)).toBe(true);
  });

  it('uses a fresh IV for every value, so equal keys seal differently', () => {
    const sealed = Array.from({ length: 50 }, () => a.seal(SECRET));
    expect(new Set(sealed).size).toBe(50);
    expect(new Set(sealed.map((s) => payload(s).subarray(0, 12).toString('hex'))).size).toBe(50);
  });

  it('detects tampering with the IV, the ciphertext or the tag', () => {
    const raw = payload(a.seal(SECRET));
    for (const at of [0, 11, 12, 12 + 5, raw.length - 16, raw.length - 1]) {
      const bad = Buffer.from(raw);
      bad[at] = (bad[at] ?? 0) ^ 0x01;
      const err = openError(a, SEALED_PREFIX + bad.toString('base64url'));
      expect(err, `byte ${at}`).toBeInstanceOf(KeyDecryptError);
      expect((err as KeyDecryptError).reason).toBe('authentication');
    }
  });

  it('rejects truncated, mangled and unsealed values as typed errors', () => {
    const stored = a.seal(SECRET);
    const cases: Array<[string, string]> = [
      [stored.slice(0, SEALED_PREFIX.length + 20), 'malformed'],
      [`${stored.slice(0, -4)}!!!!`, 'malformed'],
      [SEALED_PREFIX, 'malformed'],
      [stored.slice(0, -2), 'authentication'],
      [SECRET, 'not-sealed'],
    ];
    for (const [value, reason] of cases) {
      const err = openError(a, value);
      expect(err, value).toBeInstanceOf(KeyDecryptError);
      expect((err as KeyDecryptError).reason).toBe(reason);
    }
  });

  it('fails to open values sealed with another key', () => {
    const err = openError(b, a.seal(SECRET));
    expect(err).toBeInstanceOf(KeyDecryptError);
    expect((err as KeyDecryptError).reason).toBe('authentication');
    expect(isInFormatOf(b, a.seal(SECRET))).toBe(false);
    expect(isInFormatOf(a, a.seal(SECRET))).toBe(true);
  });

  it('never puts the stored value or the key into the error', () => {
    const stored = a.seal(SECRET);
    const err = openError(b, stored) as Error;
    const text = `${err.message}\n${err.stack ?? ''}\n${JSON.stringify(err)}`;
    for (const s of [SECRET, stored, stored.slice(SEALED_PREFIX.length, 30), KEY_A, KEY_B])
      expect(text).not.toContain(s);
    const notSealed = openError(a, SECRET) as Error;
    expect(`${notSealed.message}${notSealed.stack ?? ''}`).not.toContain(SECRET);
  });

  it('derives the same keys in every process: an instance opens what another sealed', () => {
    expect(aAgain.open(a.seal(SECRET))).toBe(SECRET);
    expect(aAgain.hash(SECRET)).toBe(a.hash(SECRET));
    expect(aAgain.fingerprint()).toBe(a.fingerprint());
  });

  it('hashes with a keyed HMAC: stable per key, different across keys and from plain SHA-256', () => {
    const h = a.hash(SECRET);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(a.hash(SECRET)).toBe(h);
    expect(b.hash(SECRET)).not.toBe(h);
    expect(h).not.toBe(createHash('sha256').update(SECRET).digest('hex'));
    expect(a.hash(`${SECRET}x`)).not.toBe(h);
  });

  it('fingerprints the key without revealing it, and differently per key', () => {
    const fp = a.fingerprint();
    expect(fp).toMatch(/^v1:[0-9a-f]{64}$/);
    expect(b.fingerprint()).not.toBe(fp);
    expect(fp).not.toContain(KEY_A);
    // Separate subkeys: the fingerprint is not the pepper's hash of anything a caller could pass in.
    expect(fp?.slice(3)).not.toBe(a.hash('keyway encryption-key verifier v1'));
  });

  it('keeps opening data sealed by this version (pinned salt, scrypt parameters and HKDF labels)', () => {
    // Generated once with KEY_A; if this fails, the derivation changed and every deployment's data is lost.
    const sealed = 'kw1:Qqn0SDJvfuCi7wVINLtDPv_lot1KNkqeucI00JM7A1KzREcy_iDxVK7GEAOv8oARzs02WmGDNkmNdcng';
    expect(a.open(sealed)).toBe('sk-known-answer-0123456789abcdef');
    expect(a.hash('sk-known-answer-0123456789abcdef')).toBe(
      '02acdad7aeeece3315fd4c22f104d0ed1f75f0fefcc1864f249282f656ab5c3f',
    );
    expect(a.fingerprint()).toBe('v1:e8010200bc6db0fd381369fa7b1cd8e6dacd5b988aca4b6f53ef6f0d610a769d');
  });

  it('shows nothing of its keys when printed or serialised', () => {
    expect(JSON.stringify(a)).toBe('{"encrypted":true}');
  });
});

describe('bulk sealing, opening and hashing (off the main thread)', () => {
  const many = Array.from({ length: 4500 }, (_, i) => `sk-many-${i}-${'x'.repeat(i % 40)}`);

  it('gives the same results as one key at a time, in order, across batches', async () => {
    const sealed = await sealAll(a, many);
    expect(sealed).toHaveLength(many.length);
    expect(sealed.map((s) => aAgain.open(s))).toEqual(many);
    expect(
      await openAll(
        a,
        many.map((v) => aAgain.seal(v)),
      ),
    ).toEqual(many);
    expect(await hashAll(a, many)).toEqual(many.map((v) => aAgain.hash(v)));
    expect(await sealAll(a, [])).toEqual([]);
  });

  it('rejects a batch holding a value it cannot open with the same typed error, and keeps working', async () => {
    const sealed = many.slice(0, 10).map((v) => a.seal(v));
    const foreign = b.seal(SECRET);
    const err: unknown = await openAll(a, [...sealed, foreign]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyDecryptError);
    expect((err as KeyDecryptError).reason).toBe('authentication');
    expect(String((err as Error).message)).not.toContain(SECRET);
    await expect(openAll(a, [SECRET])).rejects.toMatchObject({ reason: 'not-sealed' });
    expect(await openAll(a, sealed)).toEqual(many.slice(0, 10));
  });

  it('falls back to one key at a time for a cipher without bulk forms', async () => {
    const single = {
      seal: (v: string) => a.seal(v),
      open: (v: string) => a.open(v),
      hash: (v: string) => a.hash(v),
    };
    const sealed = await sealAll(single, many.slice(0, 300));
    expect(await openAll(single, sealed)).toEqual(many.slice(0, 300));
    expect(await hashAll(single, many.slice(0, 3))).toEqual(many.slice(0, 3).map((v) => a.hash(v)));
    await expect(openAll(single, [SECRET])).rejects.toBeInstanceOf(KeyDecryptError);
  });

  it('leaves keys as they are without an ENCRYPTION_KEY', async () => {
    expect(await sealAll(plain, many)).toEqual(many);
    expect(await openAll(plain, many)).toEqual(many);
    expect(await hashAll(plain, many.slice(0, 3))).toEqual(many.slice(0, 3).map((v) => hashUpstreamKey(v)));
  });
});

describe('createKeyCipher without an ENCRYPTION_KEY', () => {
  it('stores keys as given and hashes exactly like hashUpstreamKey (existing data stays valid)', () => {
    expect(plain.encrypted).toBe(false);
    expect(plain.seal(SECRET)).toBe(SECRET);
    expect(plain.open(SECRET)).toBe(SECRET);
    expect(plain.hash(SECRET)).toBe(hashUpstreamKey(SECRET));
    expect(plain.hash(SECRET)).toBe(createHash('sha256').update(SECRET).digest('hex'));
    expect(plain.fingerprint()).toBeNull();
  });

  it('treats an empty or blank ENCRYPTION_KEY as unset', () => {
    for (const k of ['', '   ']) {
      const c = createKeyCipher(k);
      expect(c.encrypted).toBe(false);
      expect(c.seal(SECRET)).toBe(SECRET);
    }
  });

  it('counts only unsealed values as in its format', () => {
    expect(isInFormatOf(plain, SECRET)).toBe(true);
    expect(isInFormatOf(plain, a.seal(SECRET))).toBe(false);
  });
});

describe('encryption verifier', () => {
  it('describes a cipher and reads back what it wrote', () => {
    expect(verifierOf(plain)).toEqual({ mode: 'plain' });
    const v = verifierOf(a);
    expect(v).toEqual({ mode: 'aes-256-gcm', fingerprint: a.fingerprint() });
    expect(parseVerifier(JSON.stringify(v))).toEqual(v);
    expect(parseVerifier('{"mode":"plain"}')).toEqual({ mode: 'plain' });
  });

  it('rejects anything that is not a verifier', () => {
    for (const text of [
      'nope',
      'null',
      '"plain"',
      '{}',
      '{"mode":"aes-256-gcm"}',
      '{"mode":"aes-256-gcm","fingerprint":""}',
      '{"mode":"rot13"}',
    ])
      expect(parseVerifier(text), text).toBeNull();
  });
});
