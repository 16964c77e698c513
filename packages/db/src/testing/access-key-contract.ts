// Test-only: the access-key, price, usage-table and log-filter repositories, one suite run on every database
// (SQLite in the unit tests, PostgreSQL and MySQL/MariaDB in the integration tests).
import { NO_LIMITS } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DbClient } from '../client';
import type { Provider } from '../provider';
import {
  accessKeyHashesAmong,
  createAccessKey,
  deleteAccessKey,
  findAccessKey,
  findAccessKeyByHash,
  listAccessKeyPage,
  readAccessKeyUsage,
  rotateAccessKey,
  updateAccessKey,
  usageOf,
  type NewAccessKeyRow,
} from '../repositories/access-keys';
import { usageTotals } from '../repositories/dashboard';
import { listRequestLogs } from '../repositories/logs-query';
import { deletePrice, listPrices, upsertPrice } from '../repositories/prices';
import { writeRequestLogs } from '../repositories/request-logs';
import { createTestDatabase, type TestDatabase } from './databases';
import { logRecord } from './records';
import { groupData } from './scenario';

function keyRow(name: string, over: Partial<NewAccessKeyRow> = {}): NewAccessKeyRow {
  return {
    name,
    keyHash: name.padEnd(64, '0').slice(0, 64),
    keyMasked: `sk-kw…${name.slice(0, 4)}`,
    groups: '*',
    models: [],
    limits: NO_LIMITS,
    expiresAt: null,
    enabled: true,
    notes: '',
    ...over,
  };
}

const NOW = new Date('2026-03-10T12:34:56.000Z');
const hour = (iso: string) => new Date(iso);

/** Registers the access-key repository scenarios for one database provider. */
export function accessKeyContract(provider: Provider): void {
  describe(`access-key repositories on ${provider}`, () => {
    let t: TestDatabase;
    let db: DbClient;

    beforeAll(async () => {
      t = await createTestDatabase(provider);
      db = t.conn.prisma;
    });
    afterAll(() => t?.close());
    beforeEach(async () => {
      await db.$transaction([
        db.requestLog.deleteMany(),
        db.hourlyStat.deleteMany(),
        db.accessKey.deleteMany(),
        db.modelPrice.deleteMany(),
        db.groupSubGroup.deleteMany(),
        db.group.deleteMany(),
      ]);
    });

    it('stores an access key and reads its JSON columns back typed, NUL-free text and long notes included', async () => {
      const notes = `${'ü'.repeat(1000)}\n${'x'.repeat(999)}`;
      const created = await createAccessKey(
        db,
        keyRow('team-a', {
          groups: [3, 1, 2],
          models: ['gpt-4o*', 'claude-?-*'],
          limits: { ...NO_LIMITS, rpm: 60, costUsdPerMonth: 12.5 },
          expiresAt: new Date('2030-01-01T00:00:00Z'),
          notes,
        }),
      );
      const read = await findAccessKey(db, created.id);
      expect(read).toMatchObject({
        name: 'team-a',
        groups: [3, 1, 2],
        models: ['gpt-4o*', 'claude-?-*'],
        limits: { rpm: 60, tpm: null, costUsdPerMonth: 12.5 },
        expiresAt: new Date('2030-01-01T00:00:00Z'),
        enabled: true,
        notes,
        totalCostUsd: 0,
        lastUsedAt: null,
      });
      expect((await findAccessKeyByHash(db, created.keyHash))?.id).toBe(created.id);
      expect(await findAccessKeyByHash(db, 'f'.repeat(64))).toBeNull();
    });

    it('refuses a second key with the same name or hash (unique violation)', async () => {
      await createAccessKey(db, keyRow('team-a'));
      await expect(createAccessKey(db, keyRow('team-a', { keyHash: 'e'.repeat(64) }))).rejects.toMatchObject({
        code: 'P2002',
      });
      await expect(
        createAccessKey(db, keyRow('team-b', { keyHash: keyRow('team-a').keyHash })),
      ).rejects.toMatchObject({ code: 'P2002' });
    });

    it('updates, rotates, pages and deletes; an absent id is null / false', async () => {
      const a = await createAccessKey(db, keyRow('a'));
      await createAccessKey(db, keyRow('b'));
      const patched = await updateAccessKey(db, a.id, { enabled: false, groups: [], models: ['m'] });
      expect(patched).toMatchObject({ enabled: false, groups: [], models: ['m'], name: 'a' });
      expect(await updateAccessKey(db, a.id + 100, { notes: 'x' })).toBeNull();
      const rotated = await rotateAccessKey(db, a.id, { keyHash: 'c'.repeat(64), keyMasked: 'sk-kw…cccc' });
      expect(rotated?.keyHash).toBe('c'.repeat(64));
      expect(await findAccessKeyByHash(db, a.keyHash)).toBeNull();
      expect(await accessKeyHashesAmong(db, ['c'.repeat(64), a.keyHash])).toEqual(['c'.repeat(64)]);
      const page = await listAccessKeyPage(db, { skip: 1, take: 5 });
      expect(page.total).toBe(2);
      expect(page.rows.map((r) => r.name)).toEqual(['b']);
      expect(await deleteAccessKey(db, a.id)).toBe(true);
      expect(await deleteAccessKey(db, a.id)).toBe(false);
    });

    it('reads usage of the UTC day and month, once each, and the stored total', async () => {
      const g = await db.group.create({ data: groupData('g') });
      const agg = await db.group.create({ data: { ...groupData('agg'), type: 'aggregate' } });
      const k = await createAccessKey(db, keyRow('k'));
      await db.accessKey.update({ where: { id: k.id }, data: { totalCostUsd: 99.25 } });
      const stat = (time: string, groupId: number, n: number, accessKeyId = k.id) => ({
        time: hour(time),
        groupId,
        model: 'gpt-4o',
        accessKeyId,
        requests: n,
        promptTokens: 10 * n,
        completionTokens: n,
        costUsd: 0.25 * n,
      });
      await db.hourlyStat.createMany({
        data: [
          stat('2026-03-10T12:00:00Z', g.id, 2),
          stat('2026-03-10T12:00:00Z', agg.id, 2), // repeats the sub-group's requests
          stat('2026-03-10T00:00:00Z', g.id, 1), // midnight UTC: today
          stat('2026-03-09T23:00:00Z', g.id, 4), // yesterday: this month only
          stat('2026-03-01T00:00:00Z', g.id, 8), // the 1st: this month
          stat('2026-02-28T23:00:00Z', g.id, 16), // last month
          stat('2026-03-10T12:00:00Z', g.id, 32, 0), // bare proxy keys
        ],
      });
      const usage = await readAccessKeyUsage(db, NOW);
      expect(usageOf(usage, k.id)).toEqual({
        requestsToday: 3,
        tokensToday: 33,
        costUsdToday: 0.75,
        tokensMonth: 15 * 11,
        costUsdMonth: 15 * 0.25,
        costUsdTotal: 99.25,
      });
      expect(usage.has(0)).toBe(false);
      expect(usageOf(usage, k.id + 1).requestsToday).toBe(0);
    });

    it('adds up hourly stats per group, model and access key', async () => {
      const g1 = await db.group.create({ data: groupData('g1') });
      const g2 = await db.group.create({ data: groupData('g2') });
      const row = (groupId: number, model: string, accessKeyId: number, requests: number) => ({
        time: hour('2026-03-10T11:00:00Z'),
        groupId,
        model,
        accessKeyId,
        requests,
        failures: 1,
        promptTokens: requests * 100,
        completionTokens: requests,
        cachedTokens: requests * 10,
        costUsd: requests * 0.5,
      });
      await db.hourlyStat.createMany({
        data: [row(g1.id, 'a', 0, 1), row(g1.id, 'b', 7, 2), row(g2.id, 'a', 7, 4)],
      });
      const from = hour('2026-03-10T00:00:00Z');
      const to = hour('2026-03-11T00:00:00Z');
      const all = { excludeGroupIds: [] };
      const byKey = await usageTotals(db, all, 'accessKey', from, to);
      expect(byKey.map((r) => [r.key, r.requests, r.failures, r.cachedTokens, r.costUsd])).toEqual([
        [7, 6, 2, 60, 3],
        [0, 1, 1, 10, 0.5],
      ]);
      const byModel = await usageTotals(db, { excludeGroupIds: [g2.id] }, 'model', from, to);
      expect(byModel.map((r) => [r.key, r.requests])).toEqual([
        ['b', 2],
        ['a', 1],
      ]);
      expect((await usageTotals(db, all, 'group', from, to)).map((r) => r.key)).toEqual([g2.id, g1.id]);
    });

    it('filters request logs by access key', async () => {
      const g = await db.group.create({ data: groupData('g') });
      await writeRequestLogs(db, [
        logRecord(1, { groupId: g.id, accessKeyId: 5, accessKeyName: 'five', costUsd: 0.125 }),
        logRecord(2, { groupId: g.id }),
      ]);
      const { rows, total } = await listRequestLogs(db, { accessKeyId: 5 }, { skip: 0, take: 10 });
      expect(total).toBe(1);
      expect(rows[0]).toMatchObject({ accessKeyId: 5, accessKeyName: 'five', costUsd: 0.125 });
    });

    it('stores, replaces and deletes custom prices', async () => {
      await upsertPrice(db, { model: 'gpt-4o', inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: null });
      await upsertPrice(db, { model: 'gpt-4o', inputPerMTok: 3, outputPerMTok: 9, cachedInputPerMTok: 1 });
      await upsertPrice(db, {
        model: 'acme/x',
        inputPerMTok: 0,
        outputPerMTok: 0.5,
        cachedInputPerMTok: null,
      });
      expect(await listPrices(db)).toEqual([
        { model: 'acme/x', inputPerMTok: 0, outputPerMTok: 0.5, cachedInputPerMTok: null },
        { model: 'gpt-4o', inputPerMTok: 3, outputPerMTok: 9, cachedInputPerMTok: 1 },
      ]);
      expect(await deletePrice(db, 'gpt-4o')).toBe(true);
      expect(await deletePrice(db, 'gpt-4o')).toBe(false);
      expect((await listPrices(db)).map((p) => p.model)).toEqual(['acme/x']);
    });
  });
}
