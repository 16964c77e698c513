import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyMigrations } from '@keyway/db';
import { createKeyCipher } from '@keyway/keypool';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './harness';
import { keyStore, secrets } from './key-store';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rotateJs = join(appDir, 'dist', 'rotate-encryption.js');

const KEY_A = 'kw-test-encryption-key-9f2c4e7a1b3d5e6f';
const KEY_B = 'kw-test-encryption-key-0a8d6c4b2e1f3a5c';
// Each derivation costs ~0.1–0.2 s: once per file.
const plain = createKeyCipher(undefined);
const a = createKeyCipher(KEY_A);
const b = createKeyCipher(KEY_B);

let tmp: ReturnType<typeof tempDir>;
let url: string;
let store: ReturnType<typeof keyStore>;

beforeEach(async () => {
  tmp = tempDir('rotate');
  url = `file:${join(tmp.dir, 'keyway.db')}`;
  await applyMigrations(url);
  store = keyStore(url);
});
afterEach(() => tmp.cleanup());

function rotate(oldKey: string | undefined, newKey: string | undefined) {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', DATABASE_URL: url };
  if (oldKey !== undefined) env.OLD_ENCRYPTION_KEY = oldKey;
  if (newKey !== undefined) env.NEW_ENCRYPTION_KEY = newKey;
  const r = spawnSync(process.execPath, [rotateJs], { cwd: tmp.dir, env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Each case spawns the built command (a couple of seconds with key derivation), some over 1000+ keys.
describe('keys:rotate-encryption', { timeout: 120_000 }, () => {
  it('re-encrypts from one key to another in batches, recomputing key and log hashes', async () => {
    const seeded = await store.seed(a, secrets(1100, 'ab'));
    const r = rotate(KEY_A, KEY_B);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/keys 1000\/1110: 1000 converted/);
    expect(r.stdout).toMatch(/keys 1110\/1110: 1110 converted, 0 already done, 1110 log row\(s\) updated/);
    expect(r.stdout).toMatch(/done: 1110 key\(s\), 1110 converted/);
    for (const s of [KEY_A, KEY_B, seeded.keys[0]?.value ?? '-']) expect(r.stdout).not.toContain(s);
    await store.expectStoredUnder(b, seeded);
    await store.expectDuplicateDetected(b, seeded);
  });

  it('encrypts plain keys, inferring the mode when there is no verifier, and leaves no plaintext in the file', async () => {
    const values = secrets(300, 'plain');
    const seeded = await store.seed(plain, values, { verifier: false });
    // Deleted before encryption: its plaintext sits in a free page unless the command scrubs it.
    await store.withDb((db) => db.apiKey.deleteMany({ where: { id: { in: [1, 2, 3] } } }));
    seeded.keys.splice(0, 3);
    expect(store.databaseBytes()).toContain(values[0]);

    const r = rotate(undefined, KEY_A);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/VACUUM/);
    await store.expectStoredUnder(a, seeded);
    await store.expectDuplicateDetected(a, seeded);

    const bytes = store.databaseBytes();
    for (const v of values) expect(bytes.includes(v), v).toBe(false);
  });

  it('decrypts keys back to plain storage with plain SHA-256 hashes', async () => {
    const seeded = await store.seed(a, secrets(50, 'dec'));
    const r = rotate(KEY_A, '');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/stored unencrypted/);
    await store.expectStoredUnder(plain, seeded);
    await store.expectDuplicateDetected(plain, seeded);
  });

  it('refuses a wrong OLD key and changes nothing', async () => {
    await store.seed(a, secrets(40, 'wrong'));
    const before = await store.snapshot();
    const r = rotate(KEY_B, 'kw-test-encryption-key-5e7f9a1c3b2d4e6f');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/OLD_ENCRYPTION_KEY does not match/);
    for (const s of [KEY_A, KEY_B]) expect(r.stderr + r.stdout).not.toContain(s);
    expect(await store.snapshot()).toBe(before);
  });

  it('refuses a wrong OLD key without a verifier too, by trying every stored key first', async () => {
    await store.seed(a, secrets(40, 'noverifier'), { verifier: false });
    const before = await store.snapshot();
    const r = rotate(KEY_B, '');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/50 stored key\(s\) open with neither/);
    expect(await store.snapshot()).toBe(before);
  });

  it('refuses an empty OLD key for encrypted data and changes nothing', async () => {
    await store.seed(a, secrets(20, 'emptyold'));
    const before = await store.snapshot();
    const r = rotate('', KEY_B);
    expect(r.status).toBe(1);
    expect(await store.snapshot()).toBe(before);
  });

  it('finishes an interrupted run, skipping what is already under the new key, and is idempotent', async () => {
    const values = secrets(1100, 'resume');
    // As if the first batch had committed before a crash: verifier still OLD, the first 1000 rows under NEW.
    const seeded = await store.seed(a, values, { sealedWith: (i) => (i < 1000 ? b : a) });
    const r = rotate(KEY_A, KEY_B);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/done: 1110 key\(s\), 110 converted, 1000 already done/);
    await store.expectStoredUnder(b, seeded);

    const after = await store.snapshot();
    const again = rotate(KEY_A, KEY_B);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/done: 1110 key\(s\), 0 converted, 1110 already done, 0 request-log/);
    await store.expectStoredUnder(b, seeded);
    // A second run rewrites no key and no log row.
    expect(await store.snapshot()).toBe(after);
  });

  it('refuses a weak NEW key before touching the database', async () => {
    await store.seed(plain, secrets(5, 'weak'));
    const before = await store.snapshot();
    const r = rotate('', 'password12345678');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/NEW_ENCRYPTION_KEY is too weak/);
    expect(r.stderr).not.toContain('password12345678');
    expect(await store.snapshot()).toBe(before);
  });

  it('refuses a DATABASE_URL naming no file instead of creating an empty database', () => {
    const missing = join(tmp.dir, 'typo.db');
    const r = spawnSync(process.execPath, [rotateJs], {
      cwd: tmp.dir,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: `file:${missing}`, NEW_ENCRYPTION_KEY: KEY_A },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no SQLite database/);
    expect(existsSync(missing)).toBe(false);
  });

  it('prints usage when neither key variable is set', () => {
    const r = rotate(undefined, undefined);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Usage:/);
  });
});
