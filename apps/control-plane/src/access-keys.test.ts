import type { AccessKey, Group } from '@keyway/contracts';
import { hashProxyKey } from '@keyway/keypool';
import type { LimitRule } from '@keyway/limits';
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
  delete fx.deps.counters;
});

type Created = AccessKey;

async function create(body: Record<string, unknown>): Promise<Created> {
  const res = await fx.req<Created>('POST', '/api/access-keys', body);
  expect(res.status, res.text).toBe(201);
  return res.json;
}

async function group(name: string, extra: Record<string, unknown> = {}): Promise<Group> {
  const res = await fx.req<Group>('POST', '/api/groups', standardGroup(name, extra));
  expect(res.status, res.text).toBe(201);
  return res.json;
}

async function auditText(): Promise<string> {
  return JSON.stringify(await fx.db.auditLog.findMany());
}

describe('POST /api/access-keys', () => {
  it('creates a key whose secret is shown in full only in the create response', async () => {
    const created = await create({
      name: 'team-a',
      groups: '*',
      models: ['gpt-4o*'],
      limits: { rpm: 60, costUsdPerMonth: 300 },
      notes: 'line one\nline two',
    });
    expect(created.key).toMatch(/^sk-kw-[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({
      name: 'team-a',
      groups: '*',
      models: ['gpt-4o*'],
      enabled: true,
      expiresAt: null,
      lastUsedAt: null,
      notes: 'line one\nline two',
      usage: { requestsToday: 0, costUsdTotal: 0, rpmNow: 0 },
    });
    expect(created.limits).toMatchObject({ rpm: 60, tpm: null, costUsdPerMonth: 300 });

    const secret = created.key;
    const list = await fx.req<{ items: AccessKey[]; total: number }>('GET', '/api/access-keys');
    const one = await fx.req<AccessKey>('GET', `/api/access-keys/${created.id}`);
    const patched = await fx.req('PATCH', `/api/access-keys/${created.id}`, { notes: 'x' });
    for (const res of [list, one, patched]) {
      expect(res.status, res.text).toBe(200);
      expect(res.text).not.toContain(secret);
      expect(res.text).not.toContain(secret.slice(6, 30));
    }
    expect(list.json.total).toBe(1);
    expect(one.json.key).toContain('…');
    expect(await auditText()).not.toContain(secret.slice(6, 30));
    expect(fx.onConfigChanged).toHaveBeenCalledTimes(2);
  });

  it('gives every key a different secret, hashed the way proxy keys are', async () => {
    const a = await create({ name: 'a' });
    const b = await create({ name: 'b', enabled: false });
    expect(a.key).not.toBe(b.key);
    const snap = await buildSnapshot(fx.db, 1);
    expect(snap.accessKeys.map((k) => [k.name, k.hash, k.enabled])).toEqual([
      ['a', hashProxyKey(a.key), true],
      ['b', hashProxyKey(b.key), false],
    ]);
    expect(JSON.stringify(snap)).not.toContain(a.key);
  });

  it('refuses a name already taken with 409', async () => {
    await create({ name: 'team-a' });
    const res = await fx.req<ErrorBody>('POST', '/api/access-keys', { name: 'team-a' });
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe('CONFLICT');
    const other = await create({ name: 'team-b' });
    const renamed = await fx.req<ErrorBody>('PATCH', `/api/access-keys/${other.id}`, { name: 'team-a' });
    expect(renamed.status).toBe(409);
  });

  it.each([
    ['a CR/LF in the name', { name: 'a\r\nX-Injected: 1' }],
    ['a NUL in the name', { name: 'a\u0000b' }],
    ['a NUL in the notes', { name: 'a', notes: 'x\u0000y' }],
    ['a control character in a model glob', { name: 'a', models: ['gpt-4o\n*'] }],
    ['201 model globs', { name: 'a', models: Array.from({ length: 201 }, (_, i) => `m-${i}*`) }],
    ['an empty name', { name: '   ' }],
    ['a negative limit', { name: 'a', limits: { rpm: -1 } }],
    ['an unknown limit', { name: 'a', limits: { rps: 1 } }],
    ['groups that are not ids', { name: 'a', groups: ['x'] }],
    ['an unknown field', { name: 'a', secret: 'sk-kw-chosen-by-the-caller-000000000000' }],
    ['an expiry that is no date', { name: 'a', expiresAt: 'tomorrow' }],
  ])('refuses %s with 400', async (_what, body) => {
    const res = await fx.req<ErrorBody>('POST', '/api/access-keys', body);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe('VALIDATION_FAILED');
    expect(await fx.db.accessKey.count()).toBe(0);
  });

  it('ignores a secret the caller sends: the key is always generated', async () => {
    const chosen = 'sk-kw-chosen-by-the-caller-000000000000';
    const created = await create({ name: 'a', key: chosen });
    expect(created.key).not.toBe(chosen);
    expect((await buildSnapshot(fx.db, 1)).accessKeys[0]?.hash).toBe(hashProxyKey(created.key));
  });

  it('refuses a huge models list before reading it all (413)', async () => {
    const models = Array.from({ length: 200_000 }, (_, i) => `model-${i}-${'x'.repeat(40)}`);
    const res = await fx.req<ErrorBody>('POST', '/api/access-keys', { name: 'a', models });
    expect(res.status).toBe(413);
  });
});

describe('GET/PATCH/DELETE /api/access-keys/{id}', () => {
  it('answers 404 for an unknown or malformed id, on every route', async () => {
    const k = await create({ name: 'a' });
    for (const id of [k.id + 1, 0, -1, 'abc', '1e3', '99999999999']) {
      for (const [method, path, body] of [
        ['GET', `/api/access-keys/${id}`, undefined],
        ['PATCH', `/api/access-keys/${id}`, { notes: 'x' }],
        ['DELETE', `/api/access-keys/${id}`, undefined],
        ['POST', `/api/access-keys/${id}/rotate`, undefined],
      ] as const) {
        const res = await fx.req<ErrorBody>(method, path, body);
        expect(res.status, `${method} ${path}`).toBe(404);
      }
    }
    // The other key is untouched.
    expect((await fx.req<AccessKey>('GET', `/api/access-keys/${k.id}`)).json.notes).toBe('');
  });

  it('changes only the limits a patch names, and accepts what a GET returned', async () => {
    const k = await create({ name: 'a', limits: { rpm: 60, tpm: 1000 } });
    const res = await fx.req<AccessKey>('PATCH', `/api/access-keys/${k.id}`, {
      limits: { tpm: null, rpd: 500 },
      expiresAt: '2030-01-01T00:00:00Z',
      groups: [3, 1],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.limits).toMatchObject({ rpm: 60, tpm: null, rpd: 500 });
    expect(res.json.expiresAt).toBe('2030-01-01T00:00:00.000Z');
    expect(res.json.groups).toEqual([3, 1]);
    const snap = await buildSnapshot(fx.db, 1);
    expect(snap.accessKeys[0]).toMatchObject({ groups: [3, 1], expiresAt: '2030-01-01T00:00:00.000Z' });
    // What a GET returned, sent back with one change: the read-only fields are ignored, the key kept.
    const { json: read } = await fx.req<AccessKey>('GET', `/api/access-keys/${k.id}`);
    const back = await fx.req<AccessKey>('PATCH', `/api/access-keys/${k.id}`, { ...read, notes: 'n' });
    expect(back.status, back.text).toBe(200);
    expect(back.json).toMatchObject({ notes: 'n', key: read.key, limits: read.limits });
    expect((await buildSnapshot(fx.db, 1)).accessKeys[0]?.hash).toBe(hashProxyKey(k.key));
  });

  it('deletes a key: gone from the API and the snapshot', async () => {
    const k = await create({ name: 'a' });
    expect((await fx.req('DELETE', `/api/access-keys/${k.id}`)).status).toBe(204);
    expect((await fx.req('GET', `/api/access-keys/${k.id}`)).status).toBe(404);
    expect((await buildSnapshot(fx.db, 1)).accessKeys).toEqual([]);
    expect(await auditText()).toContain('access-key.delete');
  });
});

describe('POST /api/access-keys/{id}/rotate', () => {
  it('answers a new secret once; the old one leaves the snapshot at once', async () => {
    const k = await create({ name: 'a' });
    fx.onConfigChanged.mockClear();
    const res = await fx.req<{ key: string }>('POST', `/api/access-keys/${k.id}/rotate`);
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.json)).toEqual(['key']);
    expect(res.json.key).toMatch(/^sk-kw-/);
    expect(res.json.key).not.toBe(k.key);
    expect(fx.onConfigChanged).toHaveBeenCalledTimes(1);
    const hashes = (await buildSnapshot(fx.db, 1)).accessKeys.map((a) => a.hash);
    expect(hashes).toEqual([hashProxyKey(res.json.key)]);
    const view = await fx.req<AccessKey>('GET', `/api/access-keys/${k.id}`);
    expect(view.text).not.toContain(res.json.key);
    expect(await auditText()).not.toContain(res.json.key.slice(6, 30));
  });
});

describe('usage', () => {
  it('adds up today, this month and the total, once each though aggregates have buckets too', async () => {
    const k = await create({ name: 'a' });
    const other = await create({ name: 'b' });
    const g = await group('g');
    const agg = await fx.req<Group>('POST', '/api/groups', {
      name: 'agg',
      type: 'aggregate',
      channel: 'openai',
      subGroups: [{ groupId: g.id, weight: 1 }],
    });
    const now = new Date();
    const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000);
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const lastMonth = new Date(monthStart.getTime() - 3_600_000);
    const stat = (time: Date, groupId: number, accessKeyId: number, n: number) => ({
      time,
      groupId,
      model: 'gpt-4o',
      accessKeyId,
      requests: n,
      promptTokens: 100 * n,
      completionTokens: 10 * n,
      costUsd: 0.5 * n,
    });
    await fx.db.hourlyStat.createMany({
      data: [
        stat(hour, g.id, k.id, 2),
        stat(hour, agg.json.id, k.id, 1), // the aggregate's copy of one of those requests
        stat(lastMonth, g.id, k.id, 5),
        stat(hour, g.id, 0, 7), // bare proxy keys
        stat(hour, g.id, other.id, 1),
      ],
    });
    // Earlier this month, unless today is the 1st.
    if (now.getUTCDate() > 1) await fx.db.hourlyStat.create({ data: stat(monthStart, g.id, k.id, 3) });
    await fx.db.accessKey.update({ where: { id: k.id }, data: { totalCostUsd: 42.5 } });
    const earlier = now.getUTCDate() > 1 ? 3 : 0;

    const view = (await fx.req<AccessKey>('GET', `/api/access-keys/${k.id}`)).json;
    expect(view.usage).toEqual({
      requestsToday: 2,
      tokensToday: 220,
      costUsdToday: 1,
      tokensMonth: 220 + 110 * earlier,
      costUsdMonth: 1 + 0.5 * earlier,
      costUsdTotal: 42.5,
      rpmNow: 0,
    });
    const list = await fx.req<{ items: AccessKey[] }>('GET', '/api/access-keys');
    expect(list.json.items.find((i) => i.id === other.id)?.usage.requestsToday).toBe(1);
  });

  it('reads rpmNow from the shared counters, and shows 0 when they fail', async () => {
    const k = await create({ name: 'a', limits: { rpm: 60 } });
    const seen: Array<[string, LimitRule]> = [];
    fx.deps.counters = {
      read: (id, rule) => {
        seen.push([id, rule]);
        return Promise.resolve({ used: 17 });
      },
    };
    expect((await fx.req<AccessKey>('GET', `/api/access-keys/${k.id}`)).json.usage.rpmNow).toBe(17);
    expect(seen[0]).toEqual([`ak:${k.id}`, expect.objectContaining({ name: 'rpm', limit: 60 })]);
    fx.deps.counters = { read: () => Promise.reject(new Error('redis away')) };
    const res = await fx.req<AccessKey>('GET', `/api/access-keys/${k.id}`);
    expect(res.status).toBe(200);
    expect(res.json.usage.rpmNow).toBe(0);
  });
});
