import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readGptLoad } from './read';
import {
  collectGptLoadRows,
  LEGACY_ENCRYPTION_KEY,
  gptLoadFixtureScope,
  type GptLoadFixtureOptions,
} from './testing';
import { isGptLoadReadError } from './types';

const KEY = 'gpt-load-fixture-key-2025';
const scope = gptLoadFixtureScope();
afterAll(() => scope.cleanupAll());
const fixture = (opts: Omit<GptLoadFixtureOptions, 'dialect'> = {}) =>
  scope.make({ dialect: 'sqlite', ...opts });

describe('readGptLoad on a SQLite file', () => {
  it('returns every table of a plaintext database exactly (JSON, booleans, datetimes, nulls)', async () => {
    const f = await fixture();
    const snap = await readGptLoad(f.from);
    expect(snap.source).toEqual({ kind: 'sqlite', label: f.from });
    expect(snap.encrypted).toBe(false);
    expect(snap.settings).toEqual(f.expected.settings);
    expect(snap.groups).toEqual(f.expected.groups);
    expect(snap.subGroups).toEqual(f.expected.subGroups);
    expect(snap.keys).toEqual(f.expected.keys);
    expect(snap.issues).toEqual([]);
    const rows = await collectGptLoadRows(snap);
    expect(snap.counts).toEqual({ requestLogs: 24, hourlyStats: f.expected.hourlyStats.length });
    expect(rows.requestLogs).toEqual(f.expected.requestLogs);
    expect(rows.hourlyStats).toEqual(f.expected.hourlyStats);
  });

  it('decrypts the keys and request-log keys of an encrypted database with the right key', async () => {
    const f = await fixture({ encryptionKey: KEY });
    const snap = await readGptLoad(f.from, { encryptionKey: KEY });
    expect(snap.encrypted).toBe(true);
    expect(snap.keys).toEqual(f.expected.keys);
    expect(snap.keyCounts).toEqual({ ciphertext: 14, plaintext: 0, undecryptable: 0 });
    const { requestLogs } = await collectGptLoadRows(snap);
    expect(requestLogs).toEqual(f.expected.requestLogs);
    expect(requestLogs.some((l) => l.keyValue?.startsWith('sk-proj-'))).toBe(true);
  });

  it('refuses a wrong encryption key with a clear error that names neither key', async () => {
    const f = await fixture({ encryptionKey: KEY });
    const err = await readGptLoad(f.from, { encryptionKey: 'not-the-key' }).catch((e: unknown) => e);
    expect(isGptLoadReadError(err, 'wrong_encryption_key')).toBe(true);
    expect(String((err as Error).message)).toMatch(/encryption key does not decrypt/);
    expect(String((err as Error).message)).not.toMatch(/not-the-key|gpt-load-fixture-key|sk-/);
  });

  it('asks for the encryption key when the database is encrypted and none is given', async () => {
    const f = await fixture({ encryptionKey: KEY });
    const err = await readGptLoad(f.from).catch((e: unknown) => e);
    expect(isGptLoadReadError(err, 'encryption_key_required')).toBe(true);
  });

  it('reads a plaintext database even when an encryption key is given', async () => {
    const f = await fixture();
    const snap = await readGptLoad(f.from, { encryptionKey: KEY });
    expect(snap.encrypted).toBe(false);
    expect(snap.keys).toEqual(f.expected.keys);
  });

  it('keeps legacy plaintext rows and reports keys under an older key as undecryptable', async () => {
    const f = await fixture({ encryptionKey: KEY, legacy: true, logs: 0 });
    const snap = await readGptLoad(f.from, { encryptionKey: KEY });
    expect(snap.keyCounts).toEqual({ ciphertext: 14, plaintext: 1, undecryptable: 1 });
    expect(snap.keys).toEqual(f.expected.keys);
    expect(snap.counts.requestLogs).toBe(0);
    expect((await collectGptLoadRows(snap)).requestLogs).toEqual([]);
    // The older key opens its one row but not the 14 current ones: it is the wrong key.
    const old = await readGptLoad(f.from, { encryptionKey: LEGACY_ENCRYPTION_KEY }).catch((e: unknown) => e);
    expect(isGptLoadReadError(old, 'wrong_encryption_key')).toBe(true);
    expect((old as Error).message).toContain('(1 of 15 encrypted keys)');
  });

  it('says a file that is not a GPT-Load database is not one, and a missing file cannot be opened', async () => {
    const err = await readGptLoad('/nonexistent/gpt-load.db').catch((e: unknown) => e);
    expect(isGptLoadReadError(err, 'source_unavailable')).toBe(true);
    const { default: Database } = await import('better-sqlite3');
    const f = await fixture({ logs: 0 });
    const other = `${f.from}.other.db`;
    new Database(other).exec('CREATE TABLE t (id integer)');
    const notOne = await readGptLoad(other).catch((e: unknown) => e);
    expect(isGptLoadReadError(notOne, 'not_gpt_load')).toBe(true);
    const junk = `${f.from}.junk`;
    writeFileSync(junk, 'this is a text file, not a database '.repeat(200));
    const notSqlite = await readGptLoad(junk).catch((e: unknown) => e);
    expect(isGptLoadReadError(notSqlite, 'not_gpt_load')).toBe(true);
  });

  it('reads and decrypts 50,000 keys in a few seconds', async () => {
    const f = await fixture({ encryptionKey: KEY, keys: 50_000, logs: 0 });
    const t0 = performance.now();
    const snap = await readGptLoad(f.from, { encryptionKey: KEY });
    const ms = performance.now() - t0;
    console.log(`read + decrypted ${snap.keys.length} keys from SQLite in ${ms.toFixed(0)} ms`);
    expect(snap.keyCounts.ciphertext).toBe(50_000);
    expect(snap.keys[49_999]?.keyValue).toBe(f.expected.keys[49_999]?.keyValue);
    // Measured 3-4 s on 2 cores at load average 20 (GCM decryption is about a third); the bound leaves room.
    expect(ms).toBeLessThan(10_000);
  }, 60_000);
});
