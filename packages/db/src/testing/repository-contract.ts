// Test-only: the shared repositories' behaviour, one suite run on every database (SQLite in the unit tests,
// PostgreSQL and MySQL/MariaDB in the integration tests), so a dialect difference shows up as a failing test.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DbClient } from '../client';
import type { Provider } from '../provider';
import { restoreKey, updateKey } from '../repositories/api-keys';
import { restoreCheckedKey } from '../repositories/key-checks';
import { writeKeyStates } from '../repositories/key-state';
import { addKeys, type KeyPoolWriter, type NewPoolKey } from '../repositories/keys';
import { writeRequestLogs } from '../repositories/request-logs';
import { applyUsageBatch } from '../repositories/usage';
import { createTestDatabase, type TestDatabase } from './databases';
import { USAGE_LAST, accessKeyData, logRecord, usageBatch } from './records';
import { groupData } from './scenario';

/** A key pool that records what it holds; `health` answers for the keys it was given. */
function fakePool(): KeyPoolWriter & { keys: Map<number, NewPoolKey> } {
  const keys = new Map<number, NewPoolKey>();
  return {
    keys,
    health: (_groupId, keyId) => (keys.has(keyId) ? { status: keys.get(keyId)?.status } : undefined),
    add: (_groupId, added) => {
      for (const k of added) keys.set(k.id, k);
      return Promise.resolve();
    },
  };
}

const cipher = {
  seal: (plain: string) => `sealed:${plain}`,
  hash: (plain: string) => createHash('sha256').update(plain).digest('hex'),
};

/** Registers the repository scenarios for one database provider. */
export function repositoryContract(provider: Provider): void {
  describe(`shared repositories on ${provider}`, () => {
    let t: TestDatabase;
    let db: DbClient;
    let groupId: number;
    let keyId: number;

    beforeAll(async () => {
      t = await createTestDatabase(provider);
      db = t.conn.prisma;
    });
    afterAll(() => t?.close());
    beforeEach(async () => {
      await db.$transaction([
        db.requestLog.deleteMany(),
        db.hourlyStat.deleteMany(),
        db.apiKey.deleteMany(),
        db.group.deleteMany(),
      ]);
      const group = await db.group.create({ data: groupData('g') });
      groupId = group.id;
      const key = await db.apiKey.create({
        data: { groupId, keyValue: 'v', keyHash: 'h'.repeat(64), keyMasked: 'm' },
      });
      keyId = key.id;
    });

    const counted = async () => ({
      logs: await db.requestLog.count(),
      requests: (await db.hourlyStat.findMany()).reduce((sum, s) => sum + s.requests, 0),
      key: await db.apiKey.findUniqueOrThrow({
        where: { id: keyId },
        select: { requestCount: true, lastUsedAt: true },
      }),
    });

    describe('writeRequestLogs', () => {
      const batch = () => [1, 2, 3].map((n) => logRecord(n, { groupId, keyId }));

      it('writes a batch retried after it committed only once, and counts nothing itself', async () => {
        expect(await writeRequestLogs(db, batch())).toEqual({ written: 3, duplicates: 0 });
        const once = await counted();
        expect(await writeRequestLogs(db, batch())).toEqual({ written: 0, duplicates: 3 });
        expect(await counted()).toEqual(once);
        // Counters come from usage batches: a log row adds nothing to them.
        expect(once).toMatchObject({ logs: 3, requests: 0, key: { requestCount: 0 } });
      });

      it('adds only the records a batch holds beyond an earlier write', async () => {
        await writeRequestLogs(db, batch().slice(0, 2));
        const more = [...batch(), logRecord(4, { groupId, keyId, success: false, statusCode: 500 })];
        expect(await writeRequestLogs(db, more)).toEqual({ written: 2, duplicates: 2 });
        expect(await db.requestLog.count()).toBe(4);
      });

      it('stores a record repeated within one batch once', async () => {
        const r = logRecord(1, { groupId, keyId });
        expect(await writeRequestLogs(db, [r, r, logRecord(2, { groupId })])).toEqual({
          written: 2,
          duplicates: 1,
        });
      });

      it('stores the access key, cached tokens and cost a record carries', async () => {
        await writeRequestLogs(db, [
          logRecord(1, {
            groupId,
            cachedTokens: 3,
            costUsd: 0.00125,
            accessKeyId: 7,
            accessKeyName: 'team-a',
          }),
        ]);
        expect(await db.requestLog.findFirstOrThrow()).toMatchObject({
          cachedTokens: 3,
          costUsd: 0.00125,
          accessKeyId: 7,
          accessKeyName: 'team-a',
        });
      });

      it('stores a batch once when two writers write it at the same time', async () => {
        // Server databases: a second connection pool, as a second worker process has. SQLite is written by one
        // process only, and better-sqlite3 blocks that process while it waits for a lock, so a second
        // connection there would wait for itself: its writers share the one connection, as standalone's jobs do.
        const other = provider === 'sqlite' ? db : t.connect().prisma;
        const records = Array.from({ length: 200 }, (_, i) => logRecord(100 + i, { groupId, keyId }));
        const results = await Promise.all([writeRequestLogs(db, records), writeRequestLogs(other, records)]);
        expect(results.map((r) => r.written).sort((a, b) => a - b)).toEqual([0, 200]);
        expect(await db.requestLog.count()).toBe(200);
      });
    });

    describe('applyUsageBatch', () => {
      let accessKeyId: number;
      beforeEach(async () => {
        await db.$transaction([db.usageBatchApplied.deleteMany(), db.accessKey.deleteMany()]);
        accessKeyId = (await db.accessKey.create({ data: accessKeyData('team-a') })).id;
      });
      const accessKey = () =>
        db.accessKey.findUniqueOrThrow({
          where: { id: accessKeyId },
          select: { totalRequests: true, totalTokens: true, totalCostUsd: true, lastUsedAt: true },
        });

      it('applies a batch applied twice once: stats, key counts and access-key totals', async () => {
        const b = usageBatch('batch-1', { groupId, keyId, accessKeyId });
        expect(await applyUsageBatch(db, b, provider)).toBe(true);
        expect(await applyUsageBatch(db, b, provider)).toBe(false);
        expect(await counted()).toMatchObject({
          logs: 0,
          requests: 3,
          key: { requestCount: 2, lastUsedAt: new Date(USAGE_LAST) },
        });
        const rows = await db.hourlyStat.findMany({ orderBy: { accessKeyId: 'asc' } });
        expect(rows.map((r) => [r.accessKeyId, r.requests, r.cachedTokens, r.costUsd])).toEqual([
          [0, 1, 0, 0],
          [accessKeyId, 2, 40, 0.5],
        ]);
        expect(await accessKey()).toEqual({
          totalRequests: 2,
          totalTokens: 300,
          totalCostUsd: 0.5,
          lastUsedAt: new Date(USAGE_LAST),
        });
      });

      it('adds a second batch of the same hour to the same rows, and never moves a last use back', async () => {
        await applyUsageBatch(db, usageBatch('batch-1', { groupId, keyId, accessKeyId }), provider);
        const older = usageBatch('batch-2', { groupId, keyId, accessKeyId }, '2026-11-26T07:00:01.000Z');
        await applyUsageBatch(db, older, provider);
        expect(await counted()).toMatchObject({
          requests: 6,
          key: { requestCount: 4, lastUsedAt: new Date(USAGE_LAST) },
        });
        expect(await db.hourlyStat.count()).toBe(2);
        expect(await accessKey()).toMatchObject({
          totalRequests: 4,
          totalCostUsd: 1,
          lastUsedAt: new Date(USAGE_LAST),
        });
      });

      it('counts a batch once when two writers apply it at the same time', async () => {
        const other = provider === 'sqlite' ? db : t.connect().prisma;
        const b = usageBatch('batch-race', { groupId, keyId, accessKeyId });
        const results = await Promise.all([
          applyUsageBatch(db, b, provider),
          applyUsageBatch(other, b, provider),
        ]);
        expect(results.sort()).toEqual([false, true]);
        expect(await counted()).toMatchObject({ requests: 3, key: { requestCount: 2 } });
        expect(await accessKey()).toMatchObject({ totalRequests: 2 });
      });

      it('counts a large pool’s batch of keys, hundreds to a statement, each last use only moving forward', async () => {
        const other = await db.apiKey.create({
          data: { groupId, keyValue: 'w', keyHash: 'i'.repeat(64), keyMasked: 'n' },
        });
        const before = new Date(Date.parse(USAGE_LAST) - 60_000).toISOString();
        await applyUsageBatch(
          db,
          { ...usageBatch('many-0', { groupId, keyId, accessKeyId }), keys: [] },
          provider,
        );
        await db.apiKey.update({ where: { id: other.id }, data: { lastUsedAt: new Date(USAGE_LAST) } });
        // Deleted keys between them, past one statement's worth: they match nothing.
        const gone = Array.from({ length: 1_100 }, (_, i) => ({ id: 5_000_000 + i, count: 1, last: before }));
        const keys = [
          { id: keyId, count: 3, last: USAGE_LAST },
          ...gone,
          { id: other.id, count: 7, last: before },
        ];
        expect(await applyUsageBatch(db, { id: 'many-1', buckets: [], keys, accessKeys: [] }, provider)).toBe(
          true,
        );
        const rows = await db.apiKey.findMany({
          where: { id: { in: [keyId, other.id] } },
          orderBy: { id: 'asc' },
          select: { requestCount: true, lastUsedAt: true },
        });
        expect(rows).toEqual([
          { requestCount: 3, lastUsedAt: new Date(USAGE_LAST) },
          { requestCount: 7, lastUsedAt: new Date(USAGE_LAST) },
        ]);
      });

      it('skips keys and access keys deleted since the requests without failing the batch', async () => {
        const b = usageBatch('batch-gone', { groupId, keyId: 999_999, accessKeyId: 999_998 });
        expect(await applyUsageBatch(db, b, provider)).toBe(true);
        expect(await counted()).toMatchObject({ requests: 3, key: { requestCount: 0 } });
      });
    });

    describe('writeKeyStates', () => {
      const state = (at: number, status: string, failureCount = 0) => ({
        keyId,
        status,
        failureCount,
        cooldownUntil: null,
        lastError: null,
        at,
      });

      it('keeps the latest change of a key whatever order a batch holds them in', async () => {
        await writeKeyStates(db, [
          state(3000, 'invalid', 3),
          state(1000, 'active'),
          state(2000, 'cooling', 1),
        ]);
        expect(await db.apiKey.findUniqueOrThrow({ where: { id: keyId } })).toMatchObject({
          status: 'invalid',
          failureCount: 3,
        });
      });

      it('skips a deleted key without failing the others', async () => {
        expect(
          await writeKeyStates(db, [state(1, 'invalid'), { ...state(1, 'invalid'), keyId: 999_999 }]),
        ).toBe(1);
        expect((await db.apiKey.findUniqueOrThrow({ where: { id: keyId } })).status).toBe('invalid');
      });

      it('stores model coolings as JSON, keeps them when a change does not mention them, and clears them', async () => {
        const modelCooling = {
          'gemini-2.5-pro': { until: 1_800_000_000_000, reason: 'quota (gemini-2.5-pro)' },
        };
        const stored = async () => (await db.apiKey.findUniqueOrThrow({ where: { id: keyId } })).modelCooling;
        await writeKeyStates(db, [{ ...state(10, 'active'), modelCooling }]);
        expect(await stored()).toEqual(modelCooling);
        await writeKeyStates(db, [state(11, 'active', 1)]);
        expect(await stored()).toEqual(modelCooling);
        await writeKeyStates(db, [{ ...state(12, 'active'), modelCooling: null }]);
        expect(await stored()).toBeNull();

        // Every way of restoring a key forgets its model coolings, like the pool does.
        const restores = [
          () => restoreKey(db, keyId),
          () => updateKey(db, keyId, { status: 'active' }),
          () => restoreCheckedKey(db, keyId, new Date()),
        ];
        for (const restore of restores) {
          await writeKeyStates(db, [{ ...state(13, 'invalid'), modelCooling }]);
          await restore();
          expect(await stored()).toBeNull();
        }
      });
    });

    describe('addKeys', () => {
      it('adds new keys sealed to the database and the pool, and ignores those already there', async () => {
        const pool = fakePool();
        const deps = { db, dbProvider: provider, keyCipher: cipher, keyPool: pool };
        expect(await addKeys(deps, groupId, ['sk-one', 'sk-two'])).toEqual({
          added: 2,
          ignored: 0,
          total: 3,
        });
        expect(await addKeys(deps, groupId, ['sk-two', 'sk-three'])).toEqual({
          added: 1,
          ignored: 1,
          total: 4,
        });
        const rows = await db.apiKey.findMany({ where: { keyValue: { startsWith: 'sealed:' } } });
        expect(rows.map((r) => r.keyValue).sort()).toEqual([
          'sealed:sk-one',
          'sealed:sk-three',
          'sealed:sk-two',
        ]);
        expect([...pool.keys.values()].map((k) => k.value).sort()).toEqual(['sk-one', 'sk-three', 'sk-two']);
      });

      it('reports progress as chunks of keys are stored, ending at the total', async () => {
        const deps = { db, dbProvider: provider, keyCipher: cipher, keyPool: fakePool() };
        const reports: Array<[number, number]> = [];
        const values = Array.from({ length: 2500 }, (_, i) => `sk-many-${i}`);
        const result = await addKeys(deps, groupId, values, {
          onProgress: (processed, total) => {
            reports.push([processed, total]);
            return Promise.resolve();
          },
        });
        expect(result).toEqual({ added: 2500, ignored: 0, total: 2501 });
        expect(reports).toEqual([
          [1000, 2500],
          [2000, 2500],
          [2500, 2500],
        ]);
      });

      it('leaves keys the pool already holds alone, so their live health survives a re-import', async () => {
        const pool = fakePool();
        const deps = { db, dbProvider: provider, keyCipher: cipher, keyPool: pool };
        await addKeys(deps, groupId, ['sk-one']);
        const [held] = [...pool.keys.values()];
        if (!held) throw new Error('the key was not added to the pool');
        pool.keys.set(held.id, { ...held, failureCount: 2 });
        await addKeys(deps, groupId, ['sk-one']);
        expect(pool.keys.get(held.id)?.failureCount).toBe(2);
      });
    });
  });
}
