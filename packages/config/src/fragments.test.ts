import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { requiredEncryptionKeyEnv, secretsEnv, splitEncryptionKey } from './fragments';
import { EnvError, loadEnv } from './load-env';

const distributed = z.object({ ...requiredEncryptionKeyEnv }).transform(splitEncryptionKey);
const standalone = z.object({ ...secretsEnv }).transform(splitEncryptionKey);
const KEY = '9f2c4e1a7b3d5f60a8c2e4b6d8f0a1c3';

describe('ENCRYPTION_KEY of the distributed apps', () => {
  it('is required: a missing or blank value is an error naming ENCRYPTION_KEY and the `off` opt-out', () => {
    for (const source of [{}, { ENCRYPTION_KEY: '' }, { ENCRYPTION_KEY: '   ' }]) {
      let error: unknown;
      try {
        loadEnv(distributed, source);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(EnvError);
      expect((error as EnvError).problems.map((p) => p.variable)).toEqual(['ENCRYPTION_KEY']);
      expect((error as EnvError).message).toMatch(/ENCRYPTION_KEY: is required in distributed mode.*`off`/s);
    }
  });

  it('takes `off` (any case) as the explicit choice of plaintext: no key, encryptionOff', () => {
    for (const off of ['off', 'OFF', ' Off ']) {
      expect(loadEnv(distributed, { ENCRYPTION_KEY: off })).toEqual({
        ENCRYPTION_KEY: undefined,
        encryptionOff: true,
      });
    }
  });

  it('uses any other value as the key, unchanged', () => {
    expect(loadEnv(distributed, { ENCRYPTION_KEY: KEY })).toEqual({
      ENCRYPTION_KEY: KEY,
      encryptionOff: false,
    });
    // A key that merely contains the word is a key.
    expect(loadEnv(distributed, { ENCRYPTION_KEY: `off-${KEY}` }).ENCRYPTION_KEY).toBe(`off-${KEY}`);
  });
});

describe('ENCRYPTION_KEY of standalone (same word, same parsing)', () => {
  it('may be unset (the kept key is used) or `off`', () => {
    expect(loadEnv(standalone, {})).toEqual({ ENCRYPTION_KEY: undefined, encryptionOff: false });
    expect(loadEnv(standalone, { ENCRYPTION_KEY: 'off' })).toMatchObject({ encryptionOff: true });
  });
});
