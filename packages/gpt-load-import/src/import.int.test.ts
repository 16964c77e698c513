import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@keyway/db/test-databases';
import { createKeyCipher } from '@keyway/keypool';
import { importGptLoad } from './import';
import { writeGptLoadFixture, type FixtureDialect, type GptLoadFixture } from './testing';

const KEY = 'gpt-load-fixture-key-2025';
const cipher = createKeyCipher('Keyway-import-e2e-Key-7d1f9a3c5e');

describe.each<FixtureDialect>(['sqlite', 'mysql', 'postgres'])(
  'importGptLoad from a GPT-Load %s database',
  (dialect) => {
    let fx: GptLoadFixture;
    let t: TestDatabase;
    beforeAll(async () => {
      fx = await writeGptLoadFixture({ dialect, encryptionKey: KEY, legacy: true });
      t = await createTestDatabase('sqlite');
    });
    afterAll(async () => {
      await fx?.cleanup();
      await t?.close();
    });
    const deps = () => ({ db: t.conn.prisma, provider: t.provider, keyCipher: cipher });

    it('refuses a wrong encryption key with a clear error and writes nothing', async () => {
      await expect(importGptLoad(deps(), { from: fx.from, encryptionKey: 'not-the-key' })).rejects.toThrow(
        /ENCRYPTION_KEY|encryption key/i,
      );
      expect(await t.conn.prisma.group.count()).toBe(0);
      expect(await t.conn.prisma.setting.count()).toBe(0);
    });

    it('imports every group, key and proxy key, and its logs; a second run changes nothing', async () => {
      const first = await importGptLoad(deps(), { from: fx.from, encryptionKey: KEY, logs: true });
      const importable = fx.expected.keys.filter((k) => k.keyValue !== null);
      expect(first.result.groups.created).toBe(fx.expected.groups.length);
      expect(first.result.keys.undecryptable).toBe(1);
      expect(first.result.keys.added + first.result.keys.ignored).toBe(importable.length);
      expect(first.result.proxyKeys.weak).toBeGreaterThanOrEqual(fx.expected.weakProxyKeys.length);
      expect(first.result.warnings.join('\n')).toMatch(/security: weak proxy keys/);
      expect(first.result.settings.ignored.map((s) => s.key)).toContain('failover_status_codes');
      const names = (await t.conn.prisma.group.findMany({ select: { name: true } }))
        .map((g) => g.name)
        .sort();
      expect(names).toEqual(fx.expected.groups.map((g) => g.name).sort());
      expect(await t.conn.prisma.requestLog.count()).toBeGreaterThan(0);
      expect(await t.conn.prisma.hourlyStat.count()).toBeGreaterThan(0);
      // Keyway counts a request once, under the group that served it: no stats rows of aggregates.
      const aggregates = await t.conn.prisma.group.findMany({
        where: { type: 'aggregate' },
        select: { id: true },
      });
      expect(aggregates.length).toBeGreaterThan(0);
      expect(
        await t.conn.prisma.hourlyStat.count({ where: { groupId: { in: aggregates.map((g) => g.id) } } }),
      ).toBe(0);
      const keys = await t.conn.prisma.apiKey.count();
      expect(keys).toBe(first.result.keys.added);

      const again = await importGptLoad(deps(), { from: fx.from, encryptionKey: KEY, logs: true });
      expect(again.result.groups).toEqual({ created: 0, skipped: fx.expected.groups.length });
      expect(again.result.keys.added).toBe(0);
      expect(again.result.proxyKeys.imported).toBe(0);
      expect(await t.conn.prisma.apiKey.count()).toBe(keys);
      expect(again.result.warnings.join('\n')).toMatch(/imported 0 request log/);
    });
  },
);

describe('importGptLoad at scale', () => {
  it('reads, maps and imports a 50,000-key GPT-Load SQLite database in under a minute', async () => {
    const fx = await writeGptLoadFixture({ dialect: 'sqlite', encryptionKey: KEY, keys: 50_000, logs: 0 });
    const t = await createTestDatabase('sqlite');
    try {
      const started = performance.now();
      const out = await importGptLoad(
        { db: t.conn.prisma, provider: 'sqlite', keyCipher: cipher },
        { from: fx.from, encryptionKey: KEY },
      );
      const seconds = (performance.now() - started) / 1000;
      console.log(`GPT-Load database with 50,000 keys imported into SQLite in ${seconds.toFixed(1)} s`);
      expect(out.result.keys.added).toBeGreaterThan(49_000);
      expect(seconds).toBeLessThan(60);
    } finally {
      await fx.cleanup();
      await t.close();
    }
  }, 180_000);
});
