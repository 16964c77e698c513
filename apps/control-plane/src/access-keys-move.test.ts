import type { AccessKey, Group } from '@keyway/contracts';
import { maskSecret } from '@keyway/core';
import { hashProxyKey } from '@keyway/keypool';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSnapshot } from './snapshot';
import type { ErrorBody, Fixture } from './testing/fixture';
import { createFixture, standardGroup } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  await fx.reset();
});

const GLOBAL_KEY = 'kw-global-7d1e0c9a4b2f6e38';
const GROUP_KEY = 'kw-group-3f9a1c7e5d2b8046';

async function group(name: string, extra: Record<string, unknown> = {}): Promise<Group> {
  const res = await fx.req<Group>('POST', '/api/groups', standardGroup(name, extra));
  expect(res.status, res.text).toBe(201);
  return res.json;
}

async function settingsProxyKeys(): Promise<string[]> {
  const res = await fx.req<{ values: { proxyKeys: string[] } }>('GET', '/api/settings');
  return res.json.values.proxyKeys;
}

describe('POST /api/access-keys/from-proxy-key', () => {
  it('moves a global proxy key: same secret, every group, gone from the settings', async () => {
    expect(
      (await fx.req('PATCH', '/api/settings', { proxyKeys: [GLOBAL_KEY, 'kw-keep-9e8d7c6b5a4f3e2d'] }))
        .status,
    ).toBe(200);
    const res = await fx.req<AccessKey>('POST', '/api/access-keys/from-proxy-key', {
      keyMasked: maskSecret(GLOBAL_KEY),
      name: 'ci',
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json).toMatchObject({ name: 'ci', groups: '*', key: maskSecret(GLOBAL_KEY) });
    expect(res.text).not.toContain(GLOBAL_KEY);
    expect(await settingsProxyKeys()).toEqual([maskSecret('kw-keep-9e8d7c6b5a4f3e2d')]);
    const snap = await buildSnapshot(fx.db, 1);
    expect(snap.accessKeys.map((k) => k.hash)).toEqual([hashProxyKey(GLOBAL_KEY)]);
    expect(snap.proxyKeyHashes).not.toContain(hashProxyKey(GLOBAL_KEY));
    expect(fx.onConfigChanged).toHaveBeenCalled();
  });

  it("moves a group's proxy key into an access key scoped to that group", async () => {
    const g = await group('g', { proxyKeys: [GROUP_KEY] });
    const res = await fx.req<AccessKey>('POST', '/api/access-keys/from-proxy-key', {
      groupId: g.id,
      keyMasked: maskSecret(GROUP_KEY),
      name: 'team-g',
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.groups).toEqual([g.id]);
    expect((await fx.req<Group>('GET', `/api/groups/${g.id}`)).json.proxyKeys).toEqual([]);
    const snap = await buildSnapshot(fx.db, 1);
    expect(snap.groups[0]?.proxyKeyHashes).toEqual([]);
    expect(snap.accessKeys[0]?.hash).toBe(hashProxyKey(GROUP_KEY));
  });

  it('answers 404 for a mask that matches nothing, or an unknown group, and changes nothing', async () => {
    await fx.req('PATCH', '/api/settings', { proxyKeys: [GLOBAL_KEY] });
    const g = await group('g', { proxyKeys: [GROUP_KEY] });
    for (const body of [
      { keyMasked: 'kw-gl…0000', name: 'x' },
      // A group key's mask asked for among the global keys, and the other way round.
      { keyMasked: maskSecret(GROUP_KEY), name: 'x' },
      { groupId: g.id, keyMasked: maskSecret(GLOBAL_KEY), name: 'x' },
      { groupId: g.id + 100, keyMasked: maskSecret(GROUP_KEY), name: 'x' },
    ]) {
      const res = await fx.req<ErrorBody>('POST', '/api/access-keys/from-proxy-key', body);
      expect(res.status, JSON.stringify(body)).toBe(404);
    }
    expect(await fx.db.accessKey.count()).toBe(0);
    expect(await settingsProxyKeys()).toEqual([maskSecret(GLOBAL_KEY)]);
  });

  it('refuses a mask two stored keys share (409), and a taken name without removing the proxy key', async () => {
    const twins = ['kw-twin-7c1d9e3a5b4f-0001', 'kw-twin-2f8e6a4c0d9b-0001'];
    expect(maskSecret(twins[0] ?? '')).toBe(maskSecret(twins[1] ?? ''));
    const stored = await fx.req('PATCH', '/api/settings', { proxyKeys: [...twins, GLOBAL_KEY] });
    expect(stored.status, stored.text).toBe(200);
    const twin = await fx.req<ErrorBody>('POST', '/api/access-keys/from-proxy-key', {
      keyMasked: maskSecret(twins[0] ?? ''),
      name: 'x',
    });
    expect(twin.status).toBe(409);
    await fx.req('POST', '/api/access-keys', { name: 'taken' });
    const taken = await fx.req<ErrorBody>('POST', '/api/access-keys/from-proxy-key', {
      keyMasked: maskSecret(GLOBAL_KEY),
      name: 'taken',
    });
    expect(taken.status).toBe(409);
    expect(await settingsProxyKeys()).toContain(maskSecret(GLOBAL_KEY));
  });

  it.each([
    ['a CR/LF in the name', { keyMasked: 'kw-gl…0000', name: 'a\r\nb' }],
    ['an empty mask', { keyMasked: '', name: 'a' }],
    ['a group id that is not one', { groupId: 'x', keyMasked: 'kw-gl…0000', name: 'a' }],
  ])('refuses %s with 400', async (_what, body) => {
    expect((await fx.req('POST', '/api/access-keys/from-proxy-key', body)).status).toBe(400);
  });
});

describe('a secret with two meanings', () => {
  it('is refused as a global or group proxy key while it is an access key', async () => {
    const created = await fx.req<AccessKey>('POST', '/api/access-keys', { name: 'a' });
    const secret = created.json.key;
    const settings = await fx.req<ErrorBody>('PATCH', '/api/settings', { proxyKeys: [GLOBAL_KEY, secret] });
    expect(settings.status).toBe(400);
    expect(settings.json.error.details?.[0]?.path).toBe('proxyKeys.1');
    expect(settings.text).not.toContain(secret);
    const g = await fx.req<ErrorBody>('POST', '/api/groups', standardGroup('g', { proxyKeys: [secret] }));
    expect(g.status).toBe(400);
    const existing = await group('h');
    const patched = await fx.req('PATCH', `/api/groups/${existing.id}`, { proxyKeys: [secret] });
    expect(patched.status).toBe(400);
    expect((await buildSnapshot(fx.db, 1)).proxyKeyHashes).toEqual([]);
  });
});

describe('group model globs', () => {
  it('flow through create, patch, view and the snapshot', async () => {
    const g = await group('g', { models: ['gpt-4o*', 'o?-mini'] });
    expect(g.models).toEqual(['gpt-4o*', 'o?-mini']);
    const patched = await fx.req<Group>('PATCH', `/api/groups/${g.id}`, { models: ['claude-*'] });
    expect(patched.json.models).toEqual(['claude-*']);
    expect((await fx.req<Group>('GET', `/api/groups/${g.id}`)).json.models).toEqual(['claude-*']);
    expect((await buildSnapshot(fx.db, 1)).groups[0]?.models).toEqual(['claude-*']);
    const bad = await fx.req('PATCH', `/api/groups/${g.id}`, { models: ['gpt\r\n*'] });
    expect(bad.status).toBe(400);
  });
});
