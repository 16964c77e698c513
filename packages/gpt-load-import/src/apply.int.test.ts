import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '@keyway/db';
import { createTestDatabase, type TestDatabase } from '@keyway/db/test-databases';
import { createKeyCipher, hashProxyKey } from '@keyway/keypool';
import { applyImportPlan } from './apply';
import { mapGptLoad } from './map';
import { gptLoadGroup, gptLoadKey, gptLoadSnapshot } from './test-snapshot';
import type { GptLoadGroup, GptLoadKey, GptLoadSnapshot } from './types';

const cipher = createKeyCipher('Keyway-import-test-Key-4f9c1e7a2b');
const STRONG = 'Zq8vN2kLp4Rt7wXy1Bc';

function group(id: number, name: string, over: Partial<GptLoadGroup> = {}): GptLoadGroup {
  return gptLoadGroup({
    id,
    name,
    description: 'from GPT-Load',
    upstreams: [{ url: 'https://api.openai.com', weight: 2 }],
    sort: id,
    paramOverrides: { temperature: 0 },
    config: { max_retries: 5 },
    modelRedirectRules: { a: 'b' },
    ...over,
  });
}

const key = gptLoadKey;

function source(keys: GptLoadKey[]): GptLoadSnapshot {
  return gptLoadSnapshot({
    settings: [
      { key: 'proxy_keys', value: `sk-123456,${STRONG}` },
      { key: 'max_retries', value: '2' },
      { key: 'request_log_write_interval_minutes', value: '1' },
    ],
    groups: [
      group(1, '_alpha', { proxyKeys: `${STRONG}-alpha` }),
      group(2, 'beta'),
      group(3, 'mix', {
        groupType: 'aggregate',
        upstreams: [],
        testModel: '-',
        config: null,
        paramOverrides: null,
      }),
    ],
    subGroups: [
      { groupId: 3, subGroupId: 1, weight: 60 },
      { groupId: 3, subGroupId: 2, weight: 40 },
    ],
    keys,
    keyCounts: { ciphertext: keys.length, plaintext: 0, undecryptable: 0 },
  });
}

const KEYS = [
  key(1, 1, 'sk-alpha-1', { status: 'invalid', notes: 'banned', requestCount: 12, failureCount: 3 }),
  key(2, 1, 'sk-alpha-2', { lastUsedAt: new Date('2025-06-01T10:00:00.000Z'), requestCount: 4 }),
  key(3, 2, 'sk-beta-1'),
];

describe.each<Provider>(['sqlite', 'postgresql', 'mysql'])('applyImportPlan on %s', (provider) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(provider);
  });
  afterAll(async () => {
    await t?.close();
  });
  const deps = () => ({ db: t.conn.prisma, provider, keyCipher: cipher });

  it('a dry run reports what it would do and writes nothing', async () => {
    const out = await applyImportPlan(deps(), mapGptLoad(source(KEYS)), { dryRun: true });
    expect(out.result).toMatchObject({
      groups: { created: 3, skipped: 0 },
      keys: { added: 3, ignored: 0, undecryptable: 0 },
      proxyKeys: { imported: 3, weak: 1 },
      settings: { applied: ['max_retries'] },
    });
    expect(out.changed).toBe(false);
    expect(await t.conn.prisma.group.count()).toBe(0);
    expect(await t.conn.prisma.apiKey.count()).toBe(0);
    expect(await t.conn.prisma.setting.count()).toBe(0);
  });

  it('imports groups, members, keys (sealed, with state and counters), proxy keys and settings', async () => {
    const out = await applyImportPlan(deps(), mapGptLoad(source(KEYS)));
    expect(out.result.groups).toEqual({ created: 3, skipped: 0 });
    expect(out.result.keys).toEqual({ added: 3, ignored: 0, undecryptable: 0 });
    expect(out.result.proxyKeys).toEqual({ imported: 3, weak: 1 });
    expect(out.result.settings.ignored.map((s) => s.key)).toEqual(['request_log_write_interval_minutes']);
    expect(out.result.warnings.join('\n')).toMatch(/security: weak proxy keys/);
    const db = t.conn.prisma;
    const alpha = await db.group.findUniqueOrThrow({ where: { name: '_alpha' }, include: { keys: true } });
    expect(alpha).toMatchObject({
      channel: 'openai',
      upstreams: [{ url: 'https://api.openai.com', weight: 2 }],
      config: { maxRetries: 5 },
      paramOverrides: { temperature: 0 },
      modelRedirects: { a: 'b' },
    });
    expect(alpha.proxyKeys).toEqual([expect.objectContaining({ hash: hashProxyKey(`${STRONG}-alpha`) })]);
    const k1 = alpha.keys.find((k) => k.keyHash === cipher.hash('sk-alpha-1'));
    expect(k1).toMatchObject({ status: 'invalid', notes: 'banned', requestCount: 12, failureCount: 3 });
    expect(k1?.keyValue).not.toContain('sk-alpha-1');
    expect(cipher.open(k1?.keyValue ?? '')).toBe('sk-alpha-1');
    const k2 = alpha.keys.find((k) => k.keyHash === cipher.hash('sk-alpha-2'));
    expect(k2?.lastUsedAt?.toISOString()).toBe('2025-06-01T10:00:00.000Z');
    const mix = await db.group.findUniqueOrThrow({ where: { name: 'mix' }, include: { subGroups: true } });
    expect(mix.type).toBe('aggregate');
    expect(mix.subGroups.map((s) => [s.subGroupId, s.weight])).toEqual([
      [alpha.id, 60],
      [out.groupIds.get(2), 40],
    ]);
    const settings = Object.fromEntries(
      (await db.setting.findMany()).map((s) => [s.key, JSON.parse(s.value)]),
    );
    expect(settings.maxRetries).toBe(2);
    expect(
      (settings.proxyKeys as Array<{ hash: string; weak?: string }>).map((k) => [k.hash, !!k.weak]),
    ).toEqual([
      [hashProxyKey('sk-123456'), true],
      [hashProxyKey(STRONG), false],
    ]);
    expect(out.keyGroups.sort()).toEqual([alpha.id, out.groupIds.get(2)].sort());
  });

  it('is idempotent: a second run skips the groups and duplicates nothing', async () => {
    const out = await applyImportPlan(deps(), mapGptLoad(source(KEYS)));
    expect(out.result.groups).toEqual({ created: 0, skipped: 3 });
    expect(out.result.keys).toEqual({ added: 0, ignored: 3, undecryptable: 0 });
    expect(out.result.proxyKeys).toEqual({ imported: 0, weak: 0 });
    expect(await t.conn.prisma.group.count()).toBe(3);
    expect(await t.conn.prisma.apiKey.count()).toBe(3);
  });

  it('merges the keys of a group whose name exists, de-duplicated', async () => {
    const more = [...KEYS, key(4, 2, 'sk-beta-2'), key(5, 2, 'sk-beta-1')];
    const out = await applyImportPlan(deps(), mapGptLoad(source(more)));
    expect(out.result.groups.skipped).toBe(3);
    expect(out.result.keys).toEqual({ added: 1, ignored: 4, undecryptable: 0 });
    const beta = await t.conn.prisma.group.findUniqueOrThrow({
      where: { name: 'beta' },
      include: { keys: true },
    });
    expect(beta.keys.map((k) => cipher.open(k.keyValue)).sort()).toEqual(['sk-beta-1', 'sk-beta-2']);
  });
});

describe('applyImportPlan at scale', () => {
  it('imports 50,000 keys into SQLite in under a minute', async () => {
    const t = await createTestDatabase('sqlite');
    try {
      const keys = Array.from({ length: 50_000 }, (_, i) =>
        key(i + 1, 1 + (i % 2), `sk-proj-${i.toString(36).padStart(8, '0')}-${'x'.repeat(40)}`),
      );
      const started = performance.now();
      const plan = mapGptLoad(source(keys));
      const out = await applyImportPlan({ db: t.conn.prisma, provider: 'sqlite', keyCipher: cipher }, plan);
      const seconds = (performance.now() - started) / 1000;
      console.log(`50,000 keys mapped and imported into SQLite in ${seconds.toFixed(1)} s`);
      expect(out.result.keys.added).toBe(50_000);
      expect(await t.conn.prisma.apiKey.count()).toBe(50_000);
      expect(seconds).toBeLessThan(60);
    } finally {
      await t.close();
    }
  }, 120_000);
});
