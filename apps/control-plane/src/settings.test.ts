import type { SettingSchemaEntry, Settings } from '@keyway/contracts';
import { defaultSettings, settingDefinitions } from '@keyway/contracts';
import { hashProxyKey } from '@keyway/keypool';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSnapshot } from './snapshot';
import type { ErrorBody, Fixture } from './testing/fixture';
import { createFixture } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  await fx.reset();
});

interface SettingsBody {
  values: Settings;
  schema: SettingSchemaEntry[];
}

async function getSettings(): Promise<SettingsBody> {
  const res = await fx.req<SettingsBody>('GET', '/api/settings');
  expect(res.status).toBe(200);
  return res.json;
}

async function patch(body: unknown) {
  return fx.req<SettingsBody & ErrorBody>('PATCH', '/api/settings', body);
}

describe('GET /api/settings', () => {
  it('returns every default on a fresh database', async () => {
    const { values } = await getSettings();
    expect(values).toEqual(defaultSettings);
    expect(Object.keys(values).sort()).toEqual(Object.keys(settingDefinitions).sort());
    expect(values).toMatchObject({ appUrl: 'http://localhost:3001', maxRetries: 3, proxyKeys: [] });
  });

  it('describes every setting: key, type, default, description, category, groupOverridable', async () => {
    const { schema } = await getSettings();
    expect(schema.map((s) => s.key).sort()).toEqual(Object.keys(settingDefinitions).sort());
    for (const entry of schema) {
      expect(['integer', 'boolean', 'string', 'string[]', 'enum']).toContain(entry.type);
      expect(entry.default).toEqual(defaultSettings[entry.key as keyof Settings]);
      expect(entry.description.length).toBeGreaterThan(0);
      expect(['basic', 'request', 'keys', 'logs']).toContain(entry.category);
      expect(typeof entry.groupOverridable).toBe('boolean');
      if (entry.type === 'integer') {
        expect(typeof entry.min).toBe('number');
        expect(typeof entry.max).toBe('number');
      }
      if (entry.type === 'enum') expect(entry.options?.length).toBeGreaterThan(0);
    }
    expect(schema.find((s) => s.key === 'proxyKeys')).toMatchObject({
      secret: true,
      groupOverridable: false,
    });
    expect(schema.find((s) => s.key === 'maxRetries')).toMatchObject({
      type: 'integer',
      min: 0,
      max: 50,
      category: 'keys',
      groupOverridable: true,
    });
  });
});

describe('PATCH /api/settings', () => {
  it('changes the keys sent, keeps the rest, and notifies the gateways', async () => {
    const res = await patch({
      maxRetries: 7,
      requestLogging: 'errors',
      failoverStatusCodes: '400-403,405-999',
    });
    expect(res.status).toBe(200);
    const expected = {
      ...defaultSettings,
      maxRetries: 7,
      requestLogging: 'errors',
      failoverStatusCodes: '400-403,405-999',
    };
    expect(res.json.values).toEqual(expected);
    expect((await getSettings()).values).toEqual(expected);
    expect(fx.onConfigChanged).toHaveBeenCalledTimes(1);
    const snap = await buildSnapshot(fx.db, 1);
    expect(snap.settings).toMatchObject({ maxRetries: 7, requestLogging: 'errors' });
  });

  it('notifies only after the change is stored', async () => {
    let seen: number | undefined;
    fx.onConfigChanged.mockImplementationOnce(async () => {
      seen = (await buildSnapshot(fx.db, 1)).settings.maxRetries;
    });
    await patch({ maxRetries: 9 });
    expect(seen).toBe(9);
  });

  it('accepts the edges of a range and sets a nullable setting back to null', async () => {
    expect((await patch({ maxRetries: 0, blacklistThreshold: 1000 })).status).toBe(200);
    expect((await patch({ failoverStatusCodes: '500' })).json.values.failoverStatusCodes).toBe('500');
    const res = await patch({ failoverStatusCodes: null });
    expect(res.status).toBe(200);
    expect(res.json.values).toMatchObject({
      maxRetries: 0,
      blacklistThreshold: 1000,
      failoverStatusCodes: null,
    });
  });

  it.each<[string, unknown]>([
    ['an unknown key', { maxRetries: 4, colour: 'red' }],
    ['a value below the minimum', { maxRetries: -1 }],
    ['a value above the maximum', { maxRetries: 51 }],
    ['a non-integer', { maxRetries: 2.5 }],
    ['a string for a number', { maxRetries: '4' }],
    ['a string for a boolean', { requestLogBodies: 'true' }],
    ['an unknown enum value', { requestLogging: 'some' }],
    ['a bad failover spec', { failoverStatusCodes: 'abc' }],
    ['an out-of-range failover code', { failoverStatusCodes: '99' }],
    ['a reversed failover range', { failoverStatusCodes: '500-400' }],
    ['a non-URL appUrl', { appUrl: 'not a url' }],
    ['a bad proxyUrl scheme', { proxyUrl: 'ftp://proxy.example' }],
    ['a string for proxyKeys', { proxyKeys: 'sk-one' }],
    ['an empty proxy key', { proxyKeys: [' '] }],
    ['null for a non-nullable setting', { maxRetries: null }],
    ['an array body', [{ maxRetries: 4 }]],
  ])('refuses %s with 400 VALIDATION_FAILED and changes nothing', async (_what, body) => {
    await patch({ maxRetries: 5 });
    fx.onConfigChanged.mockClear();
    const res = await patch(body);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe('VALIDATION_FAILED');
    expect(res.json.error.details?.length).toBeGreaterThan(0);
    expect((await getSettings()).values).toEqual({ ...defaultSettings, maxRetries: 5 });
    expect(fx.onConfigChanged).not.toHaveBeenCalled();
  });

  it('refuses an appUrl that is not an http(s) base URL', async () => {
    for (const appUrl of ['javascript:alert(1)', 'data:text/html,hi', 'ftp://files.example']) {
      const res = await patch({ appUrl });
      expect(res.status, appUrl).toBe(400);
    }
    expect((await getSettings()).values.appUrl).toBe(defaultSettings.appUrl);
  });

  it('refuses a body that is not JSON with 400', async () => {
    const res = await fx.req<ErrorBody>('PATCH', '/api/settings', undefined, { raw: 'maxRetries=4' });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('VALIDATION_FAILED');
    expect(fx.onConfigChanged).not.toHaveBeenCalled();
  });

  it('stores global proxy keys write-only: masked in every response, hashed for the gateways', async () => {
    const keys = ['sk-global-proxy-one-1111', 'sk-global-proxy-two-2222'];
    const res = await patch({ proxyKeys: keys });
    expect(res.status).toBe(200);
    expect(res.json.values.proxyKeys).toHaveLength(2);
    const get = await fx.req('GET', '/api/settings');
    for (const k of keys) {
      expect(res.text).not.toContain(k);
      expect(get.text).not.toContain(k);
    }
    expect(res.json.values.proxyKeys.every((m) => m.includes('…'))).toBe(true);
    const stored = JSON.stringify(await fx.db.setting.findMany());
    for (const k of keys) expect(stored).not.toContain(k);
    expect((await buildSnapshot(fx.db, 1)).proxyKeyHashes).toEqual(keys.map(hashProxyKey));
  });

  it('keeps the proxy keys when the GET values are sent back unchanged', async () => {
    const keys = ['sk-global-proxy-one-1111', 'sk-global-proxy-two-2222'];
    await patch({ proxyKeys: keys });
    const { values } = await getSettings();
    fx.onConfigChanged.mockClear();
    const res = await patch({ ...values, maxRetries: 4 });
    expect(res.status, res.text).toBe(200);
    expect(res.json.values.proxyKeys).toEqual(values.proxyKeys);
    expect((await buildSnapshot(fx.db, 1)).proxyKeyHashes).toEqual(keys.map(hashProxyKey));
    expect(fx.onConfigChanged).toHaveBeenCalledTimes(1);
  });

  it('replaces the global proxy keys when new ones are sent', async () => {
    await patch({ proxyKeys: ['sk-global-proxy-one-1111'] });
    await patch({ proxyKeys: ['sk-global-proxy-new-9999'] });
    expect((await buildSnapshot(fx.db, 1)).proxyKeyHashes).toEqual([
      hashProxyKey('sk-global-proxy-new-9999'),
    ]);
  });

  it('moves every group endpoint when appUrl changes', async () => {
    const g = await fx.req<{ id: number; endpoint: string }>('POST', '/api/groups', {
      name: 'g1',
      channel: 'gemini',
      upstreams: [{ url: 'https://generativelanguage.example' }],
    });
    expect(g.json.endpoint).toBe('http://localhost:3001/proxy/g1');
    await patch({ appUrl: 'https://keyway.example.org' });
    const after = await fx.req<{ endpoint: string }>('GET', `/api/groups/${g.json.id}`);
    expect(after.json.endpoint).toBe('https://keyway.example.org/proxy/g1');
  });

  it('records an audit entry naming the keys but not the proxy key values', async () => {
    await patch({ maxRetries: 2, proxyKeys: ['sk-global-proxy-one-1111'] });
    const audit = await fx.db.auditLog.findMany();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'settings.update', target: 'settings' });
    expect(JSON.stringify(audit)).not.toContain('sk-global-proxy-one-1111');
  });
});

describe('the global egress proxy (proxyUrl)', () => {
  const FULL = 'http://proxy-user:proxy-Secret-9f2c@proxy.example:3128';

  it('is write-only: masked in every response, the full URL in the gateways snapshot, kept when sent back masked', async () => {
    const res = await patch({ proxyUrl: FULL });
    expect(res.status, res.text).toBe(200);
    expect(res.json.values.proxyUrl).toBe('http://…@proxy.example:3128');
    expect(res.text).not.toContain('proxy-Secret-9f2c');
    const { values } = await getSettings();
    expect(values.proxyUrl).toBe('http://…@proxy.example:3128');
    expect((await buildSnapshot(fx.db, 1)).settings.proxyUrl).toBe(FULL);

    // What the console read and sends back unchanged keeps the stored URL.
    expect((await patch({ ...values, proxyKeys: undefined })).status).toBe(200);
    expect((await buildSnapshot(fx.db, 1)).settings.proxyUrl).toBe(FULL);

    // A masked value that matches nothing stored is refused on the field, never stored as is.
    const other = await patch({ proxyUrl: 'http://…@elsewhere.example:3128' });
    expect(other.status).toBe(400);
    expect(other.json.error.details?.[0]?.path).toBe('proxyUrl');
    expect((await buildSnapshot(fx.db, 1)).settings.proxyUrl).toBe(FULL);

    // Empty turns it off.
    expect((await patch({ proxyUrl: null })).json.values.proxyUrl).toBeNull();
  });

  it('refuses a proxy host the egress policy refuses (cloud metadata)', async () => {
    const res = await patch({ proxyUrl: 'socks5://169.254.169.254:1080' });
    expect(res.status).toBe(400);
    expect(res.json.error.details?.[0]).toMatchObject({ path: 'proxyUrl' });
  });
});
