import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addKeys } from '@keyway/control-plane';
import type { ControlPlaneDeps } from '@keyway/control-plane';
import { maskSecret } from '@keyway/core';
import { applyMigrations, createPrismaClient } from '@keyway/db';
import type { DbClient } from '@keyway/db';
import type { KeyCipher } from '@keyway/keypool';
import { createKeyCipher, ENCRYPTION_VERIFIER_SETTING, MemoryKeyPool, verifierOf } from '@keyway/keypool';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './harness';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rotateJs = join(appDir, 'dist', 'rotate-encryption.js');

const KEY_A = 'kw-test-encryption-key-9f2c4e7a1b3d5e6f';
const KEY_B = 'kw-test-encryption-key-0a8d6c4b2e1f3a5c';
// Each derivation costs ~0.1–0.2 s: once per file.
const plain = createKeyCipher(undefined);
const a = createKeyCipher(KEY_A);
const b = createKeyCipher(KEY_B);

/** Distinct, realistic-looking upstream keys (the scrub test searches the file for each). */
function secrets(n: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => `sk-${tag}-${String(i).padStart(5, '0')}-Zq8Wv3Lr6Tn1Hb4Xc7Md`);
}

interface Seeded {
  groups: number[];
  /** Every key as stored, with its group. */
  keys: Array<{ groupId: number; value: string }>;
}

let tmp: ReturnType<typeof tempDir>;
let url: string;
let dbFile: string;

beforeEach(async () => {
  tmp = tempDir('rotate');
  dbFile = join(tmp.dir, 'keyway.db');
  url = `file:${dbFile}`;
  await applyMigrations(url);
});
afterEach(() => tmp.cleanup());

/** Opens the database for the duration of `fn`, then closes it (the command needs the file to itself). */
async function withDb<T>(fn: (db: DbClient) => Promise<T>): Promise<T> {
  const conn = createPrismaClient(url);
  try {
    return await fn(conn.prisma);
  } finally {
    await conn.close();
  }
}

/**
 * Stores keys as a server with `cipher` would: two groups sharing some keys, a request-log row per key (with the
 * key's id and hash) plus one without a key, and the verifier unless `verifier` is false. `sealedWith` overrides
 * the cipher for chosen keys (a half-finished earlier run).
 */
async function seed(
  cipher: KeyCipher,
  values: string[],
  opts: { verifier?: boolean; sealedWith?: (index: number) => KeyCipher } = {},
): Promise<Seeded> {
  return withDb(async (db) => {
    const groups: number[] = [];
    for (const name of ['g1', 'g2']) {
      const g = await db.group.create({
        data: {
          name,
          channel: 'openai',
          upstreams: [],
          proxyKeys: [],
          paramOverrides: {},
          modelRedirects: {},
          headerRules: [],
          config: {},
        },
      });
      groups.push(g.id);
    }
    const [g1, g2] = groups as [number, number];
    // g2 holds the first ten keys again: the same key in two groups is two rows with one hash.
    const keys = [
      ...values.map((value) => ({ groupId: g1, value })),
      ...values.slice(0, 10).map((value) => ({ groupId: g2, value })),
    ];
    await db.apiKey.createMany({
      data: keys.map((k, i) => {
        const c = opts.sealedWith?.(i) ?? cipher;
        return {
          groupId: k.groupId,
          keyValue: c.seal(k.value),
          keyHash: c.hash(k.value),
          keyMasked: maskSecret(k.value),
        };
      }),
    });
    const rows = await db.apiKey.findMany({
      select: { id: true, groupId: true, keyHash: true, keyMasked: true },
    });
    await db.requestLog.createMany({
      data: [
        ...rows.map((r) => ({
          requestId: `req-${r.id}`,
          time: new Date(),
          groupId: r.groupId,
          groupName: 'g',
          keyId: r.id,
          keyMasked: r.keyMasked,
          keyHash: r.keyHash,
          statusCode: 200,
          success: true,
          durationMs: 10,
          stream: false,
          attempts: [],
        })),
        {
          requestId: 'req-no-key',
          time: new Date(),
          groupId: g1,
          groupName: 'g1',
          keyHash: 'f'.repeat(64),
          statusCode: 502,
          success: false,
          durationMs: 10,
          stream: false,
          attempts: [],
        },
      ],
    });
    if (opts.verifier ?? true)
      await db.setting.create({
        data: { key: ENCRYPTION_VERIFIER_SETTING, value: JSON.stringify(verifierOf(cipher)) },
      });
    return { groups, keys };
  });
}

function rotate(oldKey: string | undefined, newKey: string | undefined) {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', DATABASE_URL: url };
  if (oldKey !== undefined) env.OLD_ENCRYPTION_KEY = oldKey;
  if (newKey !== undefined) env.NEW_ENCRYPTION_KEY = newKey;
  const r = spawnSync(process.execPath, [rotateJs], { cwd: tmp.dir, env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Everything the command may touch, for "nothing changed" comparisons. */
function snapshot(): Promise<string> {
  return withDb(async (db) =>
    JSON.stringify([
      await db.apiKey.findMany({ orderBy: { id: 'asc' } }),
      await db.requestLog.findMany({
        orderBy: { requestId: 'asc' },
        select: { requestId: true, keyHash: true },
      }),
      await db.setting.findMany(),
    ]),
  );
}

/** Checks that every key opens with `cipher`, is hashed by it, and that the logs follow the hashes. */
async function expectStoredUnder(cipher: KeyCipher, seeded: Seeded): Promise<void> {
  await withDb(async (db) => {
    const rows = await db.apiKey.findMany({ orderBy: { id: 'asc' } });
    expect(rows.map((r) => ({ groupId: r.groupId, value: cipher.open(r.keyValue) }))).toEqual(seeded.keys);
    for (const r of rows) {
      if (cipher.encrypted) expect(r.keyValue.startsWith('kw1:')).toBe(true);
      else expect(r.keyValue.startsWith('kw1:')).toBe(false);
      expect(r.keyHash).toBe(cipher.hash(cipher.open(r.keyValue)));
    }
    const logs = await db.requestLog.findMany({ select: { keyId: true, keyHash: true } });
    const hashById = new Map(rows.map((r) => [r.id, r.keyHash]));
    for (const l of logs) {
      if (l.keyId === null) expect(l.keyHash).toBe('f'.repeat(64));
      // A deleted key's logs keep the old hash: without the key there is nothing to compute the new one from.
      else if (hashById.has(l.keyId)) expect(l.keyHash).toBe(hashById.get(l.keyId));
    }
    const v = await db.setting.findUnique({ where: { key: ENCRYPTION_VERIFIER_SETTING } });
    expect(JSON.parse(v?.value ?? 'null')).toEqual(verifierOf(cipher));
  });
}

/** Adds the first stored key again through the control plane, as the admin API would: it must be ignored. */
async function expectDuplicateDetected(cipher: KeyCipher, seeded: Seeded): Promise<void> {
  await withDb(async (db) => {
    const keyPool = new MemoryKeyPool();
    const deps: ControlPlaneDeps = {
      db,
      keyPool,
      authKey: 'unused-in-this-test',
      keyCipher: cipher,
      logger: { info: () => {}, warn: () => {}, error: () => {} },
      onConfigChanged: () => Promise.resolve(),
    };
    const first = seeded.keys[0];
    if (!first) throw new Error('nothing seeded');
    const res = await addKeys(deps, first.groupId, [first.value, 'sk-brand-new-key-Qw3Er6Ty9Ui2Op5As8Df']);
    expect(res).toMatchObject({ added: 1, ignored: 1 });
    await keyPool.close();
  });
}

/** The SQLite file (and any WAL left behind) as text, once every connection is closed. */
function databaseBytes(): string {
  let text = readFileSync(dbFile).toString('latin1');
  for (const extra of [`${dbFile}-wal`, `${dbFile}-journal`])
    if (existsSync(extra)) text += readFileSync(extra).toString('latin1');
  return text;
}

// Each case spawns the built command (a couple of seconds with key derivation), some over 1000+ keys.
describe('keys:rotate-encryption', { timeout: 120_000 }, () => {
  it('re-encrypts from one key to another in batches, recomputing key and log hashes', async () => {
    const seeded = await seed(a, secrets(1100, 'ab'));
    const r = rotate(KEY_A, KEY_B);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/keys 1000\/1110: 1000 converted/);
    expect(r.stdout).toMatch(/keys 1110\/1110: 1110 converted, 0 already done, 1110 log row\(s\) updated/);
    expect(r.stdout).toMatch(/done: 1110 key\(s\), 1110 converted/);
    for (const s of [KEY_A, KEY_B, seeded.keys[0]?.value ?? '-']) expect(r.stdout).not.toContain(s);
    await expectStoredUnder(b, seeded);
    await expectDuplicateDetected(b, seeded);
  });

  it('encrypts plain keys, inferring the mode when there is no verifier, and leaves no plaintext in the file', async () => {
    const values = secrets(300, 'plain');
    const seeded = await seed(plain, values, { verifier: false });
    // Deleted before encryption: its plaintext sits in a free page unless the command scrubs it.
    await withDb((db) => db.apiKey.deleteMany({ where: { id: { in: [1, 2, 3] } } }));
    seeded.keys.splice(0, 3);
    expect(databaseBytes()).toContain(values[0]);

    const r = rotate(undefined, KEY_A);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/VACUUM/);
    await expectStoredUnder(a, seeded);
    await expectDuplicateDetected(a, seeded);

    const bytes = databaseBytes();
    for (const v of values) expect(bytes.includes(v), v).toBe(false);
  });

  it('decrypts keys back to plain storage with plain SHA-256 hashes', async () => {
    const seeded = await seed(a, secrets(50, 'dec'));
    const r = rotate(KEY_A, '');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/stored unencrypted/);
    await expectStoredUnder(plain, seeded);
    await expectDuplicateDetected(plain, seeded);
  });

  it('refuses a wrong OLD key and changes nothing', async () => {
    await seed(a, secrets(40, 'wrong'));
    const before = await snapshot();
    const r = rotate(KEY_B, 'kw-test-encryption-key-5e7f9a1c3b2d4e6f');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/OLD_ENCRYPTION_KEY does not match/);
    for (const s of [KEY_A, KEY_B]) expect(r.stderr + r.stdout).not.toContain(s);
    expect(await snapshot()).toBe(before);
  });

  it('refuses a wrong OLD key without a verifier too, by trying every stored key first', async () => {
    await seed(a, secrets(40, 'noverifier'), { verifier: false });
    const before = await snapshot();
    const r = rotate(KEY_B, '');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/50 stored key\(s\) open with neither/);
    expect(await snapshot()).toBe(before);
  });

  it('refuses an empty OLD key for encrypted data and changes nothing', async () => {
    await seed(a, secrets(20, 'emptyold'));
    const before = await snapshot();
    const r = rotate('', KEY_B);
    expect(r.status).toBe(1);
    expect(await snapshot()).toBe(before);
  });

  it('finishes an interrupted run, skipping what is already under the new key, and is idempotent', async () => {
    const values = secrets(1100, 'resume');
    // As if the first batch had committed before a crash: verifier still OLD, the first 1000 rows under NEW.
    const seeded = await seed(a, values, { sealedWith: (i) => (i < 1000 ? b : a) });
    const r = rotate(KEY_A, KEY_B);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/done: 1110 key\(s\), 110 converted, 1000 already done/);
    await expectStoredUnder(b, seeded);

    const after = await snapshot();
    const again = rotate(KEY_A, KEY_B);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/done: 1110 key\(s\), 0 converted, 1110 already done, 0 request-log/);
    await expectStoredUnder(b, seeded);
    // A second run rewrites no key and no log row.
    expect(await snapshot()).toBe(after);
  });

  it('refuses a weak NEW key before touching the database', async () => {
    await seed(plain, secrets(5, 'weak'));
    const before = await snapshot();
    const r = rotate('', 'password12345678');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/NEW_ENCRYPTION_KEY is too weak/);
    expect(r.stderr).not.toContain('password12345678');
    expect(await snapshot()).toBe(before);
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
