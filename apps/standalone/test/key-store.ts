/**
 * A SQLite database seeded with upstream keys as a server with some cipher would have stored them, and checks of
 * how they are stored afterwards: shared by the rotate-encryption and encrypted-by-default tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { addKeys } from '@keyway/control-plane';
import type { ControlPlaneDeps } from '@keyway/control-plane';
import { maskSecret } from '@keyway/core';
import { createPrismaClient, providerFromUrl, sqlitePathFromUrl } from '@keyway/db';
import type { DbClient } from '@keyway/db';
import type { KeyCipher } from '@keyway/keypool';
import { ENCRYPTION_VERIFIER_SETTING, MemoryKeyPool, verifierOf } from '@keyway/keypool';
import { expect } from 'vitest';

/** Distinct, realistic-looking upstream keys (the scrub tests search the file for each). */
export function secrets(n: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => `sk-${tag}-${String(i).padStart(5, '0')}-Zq8Wv3Lr6Tn1Hb4Xc7Md`);
}

export interface Seeded {
  groups: number[];
  /** Every key as stored, with its group. */
  keys: Array<{ groupId: number; value: string }>;
}

/** Helpers over the (migrated) database at `url`; `databaseBytes` only for SQLite. */
export function keyStore(url: string) {
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
   * Stores keys as a server with `cipher` would: two groups sharing some keys, a request-log row per key (with
   * the key's id and hash) plus one without a key, and the verifier unless `verifier` is false. `sealedWith`
   * overrides the cipher for chosen keys (a half-finished earlier run).
   */
  function seed(
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
      const log = {
        time: new Date(),
        statusCode: 200,
        success: true,
        durationMs: 10,
        stream: false,
        attempts: [],
      };
      await db.requestLog.createMany({
        data: [
          ...rows.map((r) => ({
            ...log,
            requestId: `req-${r.id}`,
            groupId: r.groupId,
            groupName: 'g',
            keyId: r.id,
            keyMasked: r.keyMasked,
            keyHash: r.keyHash,
          })),
          {
            ...log,
            requestId: 'req-no-key',
            groupId: g1,
            groupName: 'g1',
            keyHash: 'f'.repeat(64),
            statusCode: 502,
            success: false,
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

  /** Everything a conversion may touch, for "nothing changed" comparisons. */
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

  /**
   * Checks that every key is stored exactly once, opens with `cipher` to its original value (so none was sealed
   * twice), is hashed by it, that the logs follow the hashes and that the verifier names `cipher`.
   */
  async function expectStoredUnder(cipher: KeyCipher, seeded: Seeded): Promise<void> {
    await withDb(async (db) => {
      const rows = await db.apiKey.findMany({ orderBy: { id: 'asc' } });
      expect(rows.map((r) => ({ groupId: r.groupId, value: cipher.open(r.keyValue) }))).toEqual(seeded.keys);
      for (const r of rows) {
        expect(r.keyValue.startsWith('kw1:')).toBe(cipher.encrypted);
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
        dbProvider: providerFromUrl(url),
        keyPool,
        authKey: 'unused-in-this-test',
        keyCipher: cipher,
        logger: { info: () => {}, warn: () => {}, error: () => {} },
        onConfigChanged: () => Promise.resolve(),
      };
      const first = seeded.keys[0];
      if (!first) throw new Error('nothing seeded');
      const res = await addKeys(deps, first.groupId, [first.value, 'sk-brand-new-key-FAKE-0000000000000000']);
      expect(res).toMatchObject({ added: 1, ignored: 1 });
      await keyPool.close();
    });
  }

  /** The SQLite file (and any WAL left behind) as text, once every connection is closed. */
  function databaseBytes(): string {
    const dbFile = sqlitePathFromUrl(url);
    let text = readFileSync(dbFile).toString('latin1');
    for (const extra of [`${dbFile}-wal`, `${dbFile}-journal`])
      if (existsSync(extra)) text += readFileSync(extra).toString('latin1');
    return text;
  }

  return { withDb, seed, snapshot, expectStoredUnder, expectDuplicateDetected, databaseBytes };
}
