import { describe, expect, it } from 'vitest';
import {
  decodeStoredKey,
  decryptGptLoadValue,
  deriveGptLoadKey,
  encryptGptLoadValue,
  gptLoadKeyHash,
  looksLikeCiphertext,
} from './crypto';

// Test vector of the GPT-Load 1.x data reference (computed with the primitives GPT-Load's Go code uses).
const PASSWORD = 'gpt-load-fixture-key-2025';
const AES_KEY = 'f2999eaea354f138db5b0e350dfac73ea06d1c444d20031b0e9e98376d7f58f7';
const PLAIN = 'sk-test-0123456789abcdef';
const NONCE = '000102030405060708090a0b';
const STORED =
  '000102030405060708090a0b3853881ffd0a8d24435d489881b5791a6bc7050848c5dbfe3a6eeae7f796023d806571bf87223e59';
const HMAC_HASH = 'e3847702cc7876ba7ee5cb75c81565abe568d32e0e8b92c39f6ba8405c0f6d40';
const PLAIN_HASH = 'c871f067542d565c57ebb8b54f99afe326644dceeb5c05fc2209a8161a52875e';

describe('GPT-Load encryption', () => {
  const key = deriveGptLoadKey(PASSWORD);

  it('derives the AES key, encrypts, decrypts and hashes like GPT-Load', () => {
    expect(key.toString('hex')).toBe(AES_KEY);
    expect(encryptGptLoadValue(key, PLAIN, Buffer.from(NONCE, 'hex'))).toBe(STORED);
    expect(decryptGptLoadValue(key, STORED)).toBe(PLAIN);
    expect(gptLoadKeyHash(key, PLAIN)).toBe(HMAC_HASH);
    expect(gptLoadKeyHash(null, PLAIN)).toBe(PLAIN_HASH);
    expect(gptLoadKeyHash(key, '')).toBe('');
  });

  it('does not decrypt under another key, nor text that is not ciphertext', () => {
    expect(decryptGptLoadValue(deriveGptLoadKey('other'), STORED)).toBeNull();
    expect(decryptGptLoadValue(key, PLAIN)).toBeNull();
    expect(decryptGptLoadValue(key, STORED.toUpperCase())).toBeNull();
    expect(looksLikeCiphertext(STORED)).toBe(true);
    expect(looksLikeCiphertext(STORED.slice(1))).toBe(false);
    expect(looksLikeCiphertext('abcdef')).toBe(false);
  });

  it('tells ciphertext, plaintext and undecryptable rows apart', () => {
    expect(decodeStoredKey(key, STORED, HMAC_HASH)).toEqual({ value: PLAIN, encoding: 'ciphertext' });
    // A row written before ENCRYPTION_KEY was set, read with or without the key.
    expect(decodeStoredKey(key, PLAIN, PLAIN_HASH)).toEqual({ value: PLAIN, encoding: 'plaintext' });
    expect(decodeStoredKey(null, PLAIN, PLAIN_HASH)).toEqual({ value: PLAIN, encoding: 'plaintext' });
    // Legacy row without a hash (before v1.1.0).
    expect(decodeStoredKey(null, PLAIN, null)).toEqual({ value: PLAIN, encoding: 'plaintext' });
    expect(decodeStoredKey(null, STORED, HMAC_HASH)).toEqual({ value: null, encoding: 'undecryptable' });
    expect(decodeStoredKey(deriveGptLoadKey('other'), STORED, HMAC_HASH).encoding).toBe('undecryptable');
    // A hex-looking plaintext key is plaintext when its SHA-256 matches.
    const hexKey = 'ab'.repeat(32);
    expect(decodeStoredKey(key, hexKey, gptLoadKeyHash(null, hexKey))).toEqual({
      value: hexKey,
      encoding: 'plaintext',
    });
  });
});
