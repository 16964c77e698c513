import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EncryptionMismatchError } from '@keyway/control-plane';
import { applyMigrations, createPrismaClient } from '@keyway/db';
import { createKeyCipher, ENCRYPTION_VERIFIER_SETTING } from '@keyway/keypool';
import { createLogger } from '@keyway/observability';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../test/harness';
import { keyStore, secrets } from '../test/key-store';
import type { EncryptionEnv, PrepareOptions } from './encryption-key';
import { prepareEncryption } from './encryption-key';

const ENV_KEY = 'kw-test-encryption-key-7c1e9a3b5d2f4e6a';
const plain = createKeyCipher(undefined);

let tmp: ReturnType<typeof tempDir>;
let url: string;
let store: ReturnType<typeof keyStore>;
let lines: string[];

beforeEach(async () => {
  tmp = tempDir('encrypt-start');
  url = `file:${join(tmp.dir, 'keyway.db')}`;
  await applyMigrations(url);
  store = keyStore(url);
  lines = [];
});
afterEach(() => tmp.cleanup());

const keyFile = () => join(tmp.dir, 'encryption-key');

/** One start's encryption step, as buildDeps runs it; returns the cipher and the kept key (if any). */
async function start(env: Partial<EncryptionEnv> = {}, opts: PrepareOptions = {}) {
  const logger = createLogger({
    level: 'info',
    format: 'json',
    destination: { write: (l) => lines.push(l) },
  });
  const conn = createPrismaClient(url);
  try {
    return await prepareEncryption(conn, { encryptionOff: false, DATA_DIR: tmp.dir, ...env }, logger, opts);
  } finally {
    await conn.close();
  }
}

const kept = () => createKeyCipher(readFileSync(keyFile(), 'utf8').trim());

describe('encrypted by default at start', { timeout: 120_000 }, () => {
  it('generates a private key file on first start, never logs it, and reuses it on the next start', async () => {
    const first = await start();
    expect(first.source).toBe('generated');
    expect(statSync(keyFile()).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile(), 'utf8').trim();
    expect(key).toMatch(/^kw-enc-[A-Za-z0-9_-]{43}$/);
    expect(first.cipher.encrypted).toBe(true);
    const text = lines.join('');
    expect(text).toContain(keyFile());
    expect(text).toMatch(/Back this file up/);
    expect(text).not.toContain(key);

    const second = await start();
    expect(second.source).toBe('file');
    expect(second.cipher.fingerprint()).toBe(first.cipher.fingerprint());
    expect(readFileSync(keyFile(), 'utf8').trim()).toBe(key);
  });

  it('encrypts a plaintext database in place: keys open once, duplicates stay detected, no plaintext left in the file', async () => {
    const values = secrets(1200, 'inplace');
    const seeded = await store.seed(plain, values);
    // Deleted while stored in plaintext: its value sits in a free page unless the start-up scrubs it.
    await store.withDb((db) => db.apiKey.deleteMany({ where: { id: { in: [1, 2] } } }));
    seeded.keys.splice(0, 2);

    const started = Date.now();
    const { cipher } = await start({}, { batchSize: 500 });
    const ms = Date.now() - started;
    console.log(`encrypted ${seeded.keys.length} plaintext keys in place at start in ${ms} ms`);
    expect(cipher.fingerprint()).toBe(kept().fingerprint());
    await store.expectStoredUnder(cipher, seeded);
    await store.expectDuplicateDetected(cipher, seeded);
    const bytes = store.databaseBytes();
    for (const v of values) expect(bytes.includes(v), v).toBe(false);
  });

  it.each([
    ['after its first batch', 1],
    ['after its last batch, before recording the key', 3],
  ])(
    'finishes an encryption interrupted %s on the next start, converting only what was left',
    async (_when, batches) => {
      const seeded = await store.seed(plain, secrets(1190, 'crash'));
      const crash = new Error('simulated crash');
      let seen = 0;
      await expect(
        start(
          {},
          {
            batchSize: 400,
            onBatch: () => {
              if (++seen === batches) throw crash;
            },
          },
        ),
      ).rejects.toBe(crash);
      const converted = Math.min(batches * 400, seeded.keys.length);
      await store.withDb(async (db) => {
        expect(await db.apiKey.count({ where: { keyValue: { startsWith: 'kw1:' } } })).toBe(converted);
        const v = await db.setting.findUnique({ where: { key: ENCRYPTION_VERIFIER_SETTING } });
        expect(JSON.parse(v?.value ?? 'null')).toEqual({ mode: 'plain' });
      });

      lines = [];
      const { cipher, source } = await start({}, { batchSize: 400 });
      expect(source).toBe('file');
      await store.expectStoredUnder(cipher, seeded);
      await store.expectDuplicateDetected(cipher, seeded);
      const done = lines.map((l) => JSON.parse(l) as { msg: string; converted?: number });
      const left = seeded.keys.length - converted;
      if (left > 0)
        expect(done.find((l) => l.msg === 'stored upstream keys encrypted')?.converted).toBe(left);
      else expect(done.some((l) => l.msg === 'stored upstream keys encrypted')).toBe(false);
    },
  );

  it('refuses encrypted data whose key file is missing, without generating a new key', async () => {
    await store.seed(plain, secrets(5, 'lost'));
    await start();
    rmSync(keyFile());
    const err = await start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EncryptionMismatchError);
    expect((err as Error).message).toMatch(
      /are encrypted, but ENCRYPTION_KEY is not set and .*encryption-key does not exist/,
    );
    expect(existsSync(keyFile())).toBe(false);
  });

  it('refuses a key file that does not match the data, naming the file and not the key', async () => {
    await store.seed(plain, secrets(5, 'swap'));
    await start();
    const other = 'kw-enc-another-install-Qw3Er6Ty9Ui2Op5As8DfGh';
    writeFileSync(keyFile(), `${other}\n`, { mode: 0o600 });
    const err = (await start().catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(EncryptionMismatchError);
    expect(err.message).toMatch(/does not match the key the data was encrypted with/);
    expect(err.message).toContain(keyFile());
    expect(err.message).not.toContain(other);
  });

  it('refuses a damaged key file instead of replacing it', async () => {
    await start();
    writeFileSync(keyFile(), 'short\n', { mode: 0o600 });
    await expect(start()).rejects.toThrow(/encryption-key is unusable/);
    expect(readFileSync(keyFile(), 'utf8')).toBe('short\n');
  });

  it('makes a key file that others can read private again', async () => {
    await start();
    chmodSync(keyFile(), 0o644);
    await start();
    expect(statSync(keyFile()).mode & 0o777).toBe(0o600);
  });

  it('uses ENCRYPTION_KEY over the kept file, encrypting plaintext with it and writing no file', async () => {
    const seeded = await store.seed(plain, secrets(30, 'env'));
    const { source, cipher } = await start({ ENCRYPTION_KEY: ENV_KEY });
    expect(source).toBe('env');
    expect(existsSync(keyFile())).toBe(false);
    await store.expectStoredUnder(createKeyCipher(ENV_KEY), seeded);
    expect(cipher.fingerprint()).toBe(createKeyCipher(ENV_KEY).fingerprint());
  });

  it('keeps keys unencrypted with ENCRYPTION_KEY=off, and refuses it once the data is encrypted', async () => {
    const seeded = await store.seed(plain, secrets(10, 'off'), { verifier: false });
    const off = await start({ encryptionOff: true });
    expect(off.cipher.encrypted).toBe(false);
    expect(existsSync(keyFile())).toBe(false);
    await store.expectStoredUnder(plain, seeded);

    await start();
    await expect(start({ encryptionOff: true })).rejects.toThrow(
      /ENCRYPTION_KEY=off, but the stored upstream keys are encrypted/,
    );
  });
});
