import { defaultSettings } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DbClient } from '../client';
import { createTestDatabase, type TestDatabase } from '../testing/databases';
import { readAllSettings, readSettings, writeSettings } from './settings';

let t: TestDatabase;
let db: DbClient;
beforeAll(async () => {
  t = await createTestDatabase('sqlite');
  db = t.conn.prisma;
});
afterAll(() => t.close());
beforeEach(async () => {
  await db.setting.deleteMany();
});

const stored = (key: string, value: string) => db.setting.create({ data: { key, value } });

describe('readSettings / readAllSettings', () => {
  it('gives the built-in defaults, and no proxy keys, on an empty database', async () => {
    expect(await readAllSettings(db)).toEqual({ ...defaultSettings, proxyKeys: [] });
  });

  it('reads written values back, proxy keys in their stored (hashed) form', async () => {
    const proxyKeys = [
      { hash: 'h1', masked: 'sk-a***', weak: 'too short' },
      { hash: 'h2', masked: 'sk-b***' },
    ];
    await writeSettings(db, { requestLogging: 'errors', maxRetries: 7, proxyKeys });
    const all = await readAllSettings(db);
    expect(all).toMatchObject({ requestLogging: 'errors', maxRetries: 7, proxyKeys });
    expect(await readSettings(db, ['maxRetries', 'appUrl'])).toEqual({
      maxRetries: 7,
      appUrl: defaultSettings.appUrl,
    });
  });

  it('falls back to the default for a stored value that is not JSON or no longer passes its schema', async () => {
    await stored('maxRetries', '{not json');
    await stored('requestLogging', JSON.stringify('verbose'));
    await stored('proxyKeys', JSON.stringify(['a plaintext key']));
    const all = await readAllSettings(db);
    expect(all.maxRetries).toBe(defaultSettings.maxRetries);
    expect(all.requestLogging).toBe(defaultSettings.requestLogging);
    expect(all.proxyKeys).toEqual([]);
  });

  it('reads a value as its schema does (a blank failover list is unset), ignoring rows that are not settings', async () => {
    await stored('failoverStatusCodes', JSON.stringify('  '));
    await stored('encryptionVerifier', JSON.stringify({ mode: 'plain' }));
    const all = await readAllSettings(db);
    expect(all.failoverStatusCodes).toBeNull();
    expect(Object.keys(all).sort()).toEqual(Object.keys(defaultSettings).sort());
  });
});

describe('writeSettings', () => {
  it('replaces stored values', async () => {
    await writeSettings(db, { maxRetries: 2 });
    await writeSettings(db, { maxRetries: 4 });
    expect((await readSettings(db, ['maxRetries'])).maxRetries).toBe(4);
  });
});
