import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DbClient, DbConnection } from '@keyway/db';
import { applyMigrations, createPrismaClient } from '@keyway/db';
import type { KeyCipher } from '@keyway/keypool';
import { createKeyCipher, ENCRYPTION_VERIFIER_SETTING } from '@keyway/keypool';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkEncryption, EncryptionMismatchError, encryptionWarning } from './encryption';

const KEY_A = 'kw-test-encryption-key-9f2c4e7a1b3d5e6f';
const KEY_B = 'kw-test-encryption-key-0a8d6c4b2e1f3a5c';
const SECRETS = ['sk-test-first-1111aaaa2222bbbb', 'sk-test-second-3333cccc4444dddd'];

// Each derivation costs ~0.1–0.2 s: once per file.
const plain = createKeyCipher(undefined);
const a = createKeyCipher(KEY_A);
const b = createKeyCipher(KEY_B);

let dir: string;
let conn: DbConnection;
let db: DbClient;
let groupId: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyway-cp-encryption-'));
  const url = `file:${join(dir, 'enc.db')}`;
  await applyMigrations(url);
  conn = createPrismaClient(url);
  db = conn.prisma;
});

afterAll(async () => {
  await conn.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await db.$transaction([db.apiKey.deleteMany(), db.group.deleteMany(), db.setting.deleteMany()]);
  const g = await db.group.create({
    data: {
      name: 'g',
      channel: 'openai',
      upstreams: [],
      proxyKeys: [],
      paramOverrides: {},
      modelRedirects: {},
      headerRules: [],
      config: {},
    },
  });
  groupId = g.id;
});

async function storeKeys(cipher: KeyCipher, values = SECRETS): Promise<void> {
  await db.apiKey.createMany({
    data: values.map((v) => ({
      groupId,
      keyValue: cipher.seal(v),
      keyHash: cipher.hash(v),
      keyMasked: 'sk…',
    })),
  });
}

async function storedVerifier(): Promise<unknown> {
  const row = await db.setting.findUnique({ where: { key: ENCRYPTION_VERIFIER_SETTING } });
  return row ? JSON.parse(row.value) : null;
}

async function refusal(cipher: KeyCipher): Promise<EncryptionMismatchError> {
  const err: unknown = await checkEncryption(db, cipher).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EncryptionMismatchError);
  return err as EncryptionMismatchError;
}

describe('checkEncryption on first start (no verifier yet)', () => {
  it('records plain mode for an empty database without a key', async () => {
    await checkEncryption(db, plain);
    expect(await storedVerifier()).toEqual({ mode: 'plain' });
  });

  it('records the fingerprint for an empty database with a key', async () => {
    await checkEncryption(db, a);
    expect(await storedVerifier()).toEqual({ mode: 'aes-256-gcm', fingerprint: a.fingerprint() });
  });

  it('accepts existing plain keys without a key and records plain mode', async () => {
    await storeKeys(plain);
    await checkEncryption(db, plain);
    expect(await storedVerifier()).toEqual({ mode: 'plain' });
  });

  it('accepts existing encrypted keys with the key that opens them', async () => {
    await storeKeys(a);
    await checkEncryption(db, a);
    expect(await storedVerifier()).toEqual({ mode: 'aes-256-gcm', fingerprint: a.fingerprint() });
  });

  it('refuses a key when the existing keys are plain, and writes nothing', async () => {
    await storeKeys(plain);
    const err = await refusal(a);
    expect(err.message).toMatch(/not encrypted.*keys:rotate-encryption/s);
    expect(await storedVerifier()).toBeNull();
  });

  it('refuses to start without a key when the existing keys are encrypted', async () => {
    await storeKeys(a);
    const err = await refusal(plain);
    expect(err.message).toMatch(/encrypted but ENCRYPTION_KEY is not set/);
    expect(await storedVerifier()).toBeNull();
  });

  it('refuses a key that does not open the existing encrypted keys', async () => {
    await storeKeys(a);
    const err = await refusal(b);
    expect(err.message).toMatch(/does not match the key the data was encrypted with/);
    expect(await storedVerifier()).toBeNull();
  });

  it('refuses a half-rotated database and says to finish the rotation', async () => {
    await storeKeys(plain, [SECRETS[0] ?? '']);
    await storeKeys(a, [SECRETS[1] ?? '']);
    for (const c of [plain, a]) expect((await refusal(c)).message).toMatch(/interrupted.*run it again/s);
  });
});

describe('checkEncryption on later starts', () => {
  it('starts again with the same key, and without a key when none was used', async () => {
    await checkEncryption(db, a);
    await expect(checkEncryption(db, a)).resolves.toBeUndefined();
    await db.setting.deleteMany();
    await checkEncryption(db, plain);
    await expect(checkEncryption(db, plain)).resolves.toBeUndefined();
  });

  it('refuses a different key with the operator message, naming no secret', async () => {
    await checkEncryption(db, a);
    const err = await refusal(b);
    expect(err.message).toBe(
      'ENCRYPTION_KEY does not match the key the data was encrypted with; use the original key, or run ' +
        '`pnpm keys:rotate-encryption` (with OLD_ENCRYPTION_KEY set to the original key and NEW_ENCRYPTION_KEY ' +
        'to the new one).',
    );
    for (const s of [KEY_A, KEY_B, a.fingerprint() ?? '-', b.fingerprint() ?? '-'])
      expect(`${err.message}${err.stack ?? ''}`).not.toContain(s);
  });

  it('refuses a key when the data was recorded as plain, even with no keys stored', async () => {
    await checkEncryption(db, plain);
    expect((await refusal(a)).message).toMatch(/OLD_ENCRYPTION_KEY empty/);
  });

  it('refuses to start without the key when the data was recorded as encrypted', async () => {
    await checkEncryption(db, a);
    expect((await refusal(plain)).message).toMatch(/ENCRYPTION_KEY is not set/);
  });

  it('refuses an unreadable verifier instead of overwriting it', async () => {
    await db.setting.create({ data: { key: ENCRYPTION_VERIFIER_SETTING, value: '{"mode":"rot13"}' } });
    expect((await refusal(a)).message).toMatch(/unreadable/);
    expect(await storedVerifier()).toEqual({ mode: 'rot13' });
  });

  it('lets a concurrent first start that agrees through', async () => {
    await Promise.all([checkEncryption(db, a), checkEncryption(db, a)]);
    expect(await storedVerifier()).toEqual({ mode: 'aes-256-gcm', fingerprint: a.fingerprint() });
  });
});

describe('encryptionWarning', () => {
  it('warns with high severity when keys are stored unencrypted', () => {
    const w = encryptionWarning(plain);
    expect(w).toMatchObject({ type: 'ENCRYPTION_DISABLED', severity: 'high' });
    expect(w?.fix).toMatch(/keys:rotate-encryption/);
  });

  it('says nothing when an ENCRYPTION_KEY is set', () => {
    expect(encryptionWarning(a)).toBeNull();
  });
});
