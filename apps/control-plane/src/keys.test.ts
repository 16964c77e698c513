import type { Group, Key, KeysAddResult } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorBody, Fixture } from './testing/fixture';
import { toPoolRecord } from './keys';
import { POLICY, createFixture, standardGroup } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());

let gid: number;
beforeEach(async () => {
  await fx.reset();
  const res = await fx.req<Group>('POST', '/api/groups', standardGroup('pool'));
  expect(res.status).toBe(201);
  gid = res.json.id;
});

interface KeyPage {
  items: Key[];
  total: number;
  page: number;
  pageSize: number;
}

/** Realistic-length key values (long enough to be masked with a prefix and a suffix). */
const K = (n: number) => `sk-test-${String(n).padStart(4, '0')}-abcdefghijklmnop`;

async function addKeys(keys: string | string[], groupId = gid) {
  return fx.req<KeysAddResult>('POST', `/api/groups/${groupId}/keys`, { keys });
}

async function listKeys(query = '', groupId = gid) {
  const res = await fx.req<KeyPage>('GET', `/api/groups/${groupId}/keys${query}`);
  expect(res.status, res.text).toBe(200);
  return res;
}

async function keyIds(groupId = gid): Promise<Map<string, number>> {
  const rows = await fx.db.apiKey.findMany({ where: { groupId }, orderBy: { id: 'asc' } });
  return new Map(rows.map((r) => [r.keyValue, r.id]));
}

function idOf(ids: Map<string, number>, value: string): number {
  const id = ids.get(value);
  if (id === undefined) throw new Error(`no key ${value}`);
  return id;
}

/** Every key the pool hands out over `n` picks. */
function pickedIds(n = 20, groupId = gid): Set<number> {
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    const r = fx.keyPool.pick(groupId);
    if (r.ok && !r.probe) seen.add(r.key.id);
  }
  return seen;
}

describe('POST /api/groups/{id}/keys', () => {
  it('adds keys from text with mixed separators', async () => {
    const res = await addKeys('k1\nk2, k3;k4  k5');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ added: 5, ignored: 0, total: 5 });
    const rows = await fx.db.apiKey.findMany({ where: { groupId: gid }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => r.keyValue)).toEqual(['k1', 'k2', 'k3', 'k4', 'k5']);
    expect(fx.keyPool.stats(gid)).toEqual({ total: 5, active: 5, cooling: 0, invalid: 0, disabled: 0 });
  });

  it('handles tabs, CRLF and trailing separators', async () => {
    const res = await addKeys(`\t${K(1)}\r\n${K(2)};;,\n\n${K(3)} ,`);
    expect(res.json).toEqual({ added: 3, ignored: 0, total: 3 });
  });

  it('counts keys already in the group as ignored', async () => {
    await addKeys([K(1), K(2), K(3)]);
    const res = await addKeys(`${K(2)}\n${K(3)}\n${K(4)}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ added: 1, ignored: 2, total: 4 });
    expect(fx.keyPool.stats(gid).total).toBe(4);
  });

  it('accepts a JSON array of keys', async () => {
    const res = await addKeys([K(1), K(2), K(3)]);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ added: 3, ignored: 0, total: 3 });
  });

  it('adds the same key to two groups independently', async () => {
    const other = (await fx.req<Group>('POST', '/api/groups', standardGroup('other'))).json;
    await addKeys([K(1)]);
    const res = await addKeys([K(1)], other.id);
    expect(res.json).toEqual({ added: 1, ignored: 0, total: 1 });
  });

  it('never echoes key values in the add response', async () => {
    const res = await addKeys([K(1), K(2)]);
    expect(res.text).not.toContain(K(1));
    expect(res.text).not.toContain(K(2));
  });

  it.each([
    ['an empty string', { keys: '' }],
    ['only separators', { keys: ' ,;\n\t ' }],
    ['an empty array', { keys: [] }],
    ['no keys field', {}],
    ['a number', { keys: 42 }],
    ['an unknown field', { keys: 'k1', extra: true }],
  ])('refuses %s with 400 VALIDATION_FAILED', async (_what, body) => {
    const res = await fx.req<ErrorBody>('POST', `/api/groups/${gid}/keys`, body);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('VALIDATION_FAILED');
    expect(await fx.db.apiKey.count()).toBe(0);
  });

  it('refuses keys for an aggregate group with 400', async () => {
    const agg = await fx.req<Group>('POST', '/api/groups', {
      name: 'agg',
      type: 'aggregate',
      channel: 'openai',
      subGroups: [{ groupId: gid }],
    });
    expect(agg.status).toBe(201);
    const res = await addKeys([K(1)], agg.json.id);
    expect(res.status).toBe(400);
    expect((res.json as unknown as ErrorBody).error.code).toBe('VALIDATION_FAILED');
    expect(await fx.db.apiKey.count()).toBe(0);
    expect(fx.keyPool.stats(agg.json.id).total).toBe(0);
  });

  it('answers keys for an unknown group with 404', async () => {
    const res = await fx.req<ErrorBody>('POST', '/api/groups/424242/keys', { keys: 'k1' });
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('NOT_FOUND');
    const list = await fx.req<ErrorBody>('GET', '/api/groups/424242/keys');
    expect(list.status).toBe(404);
  });
});

describe('GET /api/groups/{id}/keys', () => {
  beforeEach(async () => {
    await addKeys([K(1), K(2), K(3), K(4), K(5)]);
  });

  it('lists keys masked, with no plaintext anywhere in the response', async () => {
    const res = await listKeys();
    expect(res.json).toMatchObject({ total: 5, page: 1, pageSize: 50 });
    expect(res.json.items).toHaveLength(5);
    for (let i = 1; i <= 5; i++) expect(res.text).not.toContain(K(i));
    // Not even the unique middle of a key.
    expect(res.text).not.toContain('abcdefghijklmnop');
    const first = res.json.items[0] as Key;
    expect(first).toEqual({
      id: expect.any(Number) as number,
      groupId: gid,
      key: expect.stringContaining('…') as string,
      status: 'active',
      failureCount: 0,
      requestCount: 0,
      lastUsedAt: null,
      lastError: null,
      cooldownUntil: null,
      modelCooling: [],
      notes: '',
      createdAt: expect.any(String) as string,
    });
    expect(first.key.startsWith('sk-te')).toBe(true);
  });

  it('paginates in id order with page, pageSize and total', async () => {
    const all = (await listKeys()).json.items.map((k) => k.id);
    const p1 = await listKeys('?page=1&pageSize=2');
    const p2 = await listKeys('?page=2&pageSize=2');
    const p3 = await listKeys('?page=3&pageSize=2');
    const p4 = await listKeys('?page=4&pageSize=2');
    expect(p1.json).toMatchObject({ total: 5, page: 1, pageSize: 2 });
    expect(p2.json).toMatchObject({ total: 5, page: 2, pageSize: 2 });
    expect([...p1.json.items, ...p2.json.items, ...p3.json.items].map((k) => k.id)).toEqual(all);
    expect(p3.json.items).toHaveLength(1);
    expect(p4.json.items).toEqual([]);
    expect(p4.json.total).toBe(5);
  });

  it.each(['?pageSize=1001', '?pageSize=0', '?page=0', '?page=abc', '?status=broken', '?pageSize=1.5'])(
    'refuses the query %s with 400 VALIDATION_FAILED',
    async (query) => {
      const res = await fx.req<ErrorBody>('GET', `/api/groups/${gid}/keys${query}`);
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('VALIDATION_FAILED');
    },
  );

  it('accepts pageSize=1000', async () => {
    expect((await listKeys('?pageSize=1000')).json.items).toHaveLength(5);
  });

  it('filters by status, agreeing with the live pool state', async () => {
    const ids = await keyIds();
    fx.keyPool.report(gid, idOf(ids, K(2)), { class: 'auth', reason: 'HTTP 401' }, POLICY);
    fx.keyPool.report(gid, idOf(ids, K(4)), { class: 'auth', reason: 'HTTP 401' }, POLICY);
    const invalid = await listKeys('?status=invalid');
    expect(invalid.json.total).toBe(2);
    expect(invalid.json.items.map((k) => k.id)).toEqual([idOf(ids, K(2)), idOf(ids, K(4))]);
    expect(invalid.json.items.every((k) => k.status === 'invalid')).toBe(true);
    const active = await listKeys('?status=active');
    expect(active.json.total).toBe(3);
    expect((await listKeys('?status=disabled')).json).toMatchObject({ total: 0, items: [] });
  });

  it('finds a key by its full value, exactly', async () => {
    const ids = await keyIds();
    const hit = await listKeys(`?search=${encodeURIComponent(K(3))}`);
    expect(hit.json.total).toBe(1);
    expect(hit.json.items.map((k) => k.id)).toEqual([idOf(ids, K(3))]);
    expect(hit.text).not.toContain(K(3));
    // Surrounding blanks are ignored; a part of a key matches nothing.
    expect((await listKeys(`?search=${encodeURIComponent(` ${K(3)} `)}`)).json.total).toBe(1);
    expect((await listKeys(`?search=${encodeURIComponent(K(3).slice(0, -1))}`)).json.total).toBe(0);
    expect((await listKeys('?search=sk-test')).json.total).toBe(0);
  });

  it('finds keys by a substring of their notes', async () => {
    const ids = await keyIds();
    const r1 = await fx.req('PATCH', `/api/keys/${idOf(ids, K(1))}`, { notes: 'team alpha, billing' });
    const r5 = await fx.req('PATCH', `/api/keys/${idOf(ids, K(5))}`, { notes: 'alpha backup' });
    expect([r1.status, r5.status]).toEqual([200, 200]);
    const hit = await listKeys('?search=alpha');
    expect(hit.json.items.map((k) => k.id)).toEqual([idOf(ids, K(1)), idOf(ids, K(5))]);
    expect((await listKeys('?search=billing')).json.total).toBe(1);
    expect((await listKeys('?search=gamma')).json.total).toBe(0);
  });

  it('combines search, status filter and pagination', async () => {
    const ids = await keyIds();
    for (const n of [1, 2, 3]) await fx.req('PATCH', `/api/keys/${idOf(ids, K(n))}`, { notes: 'batch-7' });
    await fx.req('PATCH', `/api/keys/${idOf(ids, K(2))}`, { status: 'disabled' });
    const res = await listKeys('?search=batch-7&status=active&pageSize=1&page=2');
    expect(res.json).toMatchObject({ total: 2, page: 2, pageSize: 1 });
    expect(res.json.items.map((k) => k.id)).toEqual([idOf(ids, K(3))]);
  });

  it('shows the live pool status at once: a key reported for an auth failure is invalid', async () => {
    const ids = await keyIds();
    const id = idOf(ids, K(2));
    fx.keyPool.report(gid, id, { class: 'auth', reason: 'HTTP 401 invalid_api_key' }, POLICY);
    // The database copy is still "active" (not flushed); the list overlays the pool.
    expect((await fx.db.apiKey.findUniqueOrThrow({ where: { id } })).status).toBe('active');
    const res = await listKeys();
    expect(res.json.items.find((k) => k.id === id)).toMatchObject({
      status: 'invalid',
      lastError: 'HTTP 401 invalid_api_key',
    });
  });

  it('does not list a key whose cooldown has ended under status=cooling', async () => {
    const id = idOf(await keyIds(), K(1));
    // A 1 s cooldown (the minimum) that started 0.85 s ago.
    fx.keyPool.report(gid, id, { class: 'rate', retryAfterMs: 1000 }, POLICY, Date.now() - 850);
    expect((await listKeys('?status=cooling')).json.items.map((k) => k.status)).toEqual(['cooling']);
    await new Promise((r) => setTimeout(r, 200));
    const res = await listKeys('?status=cooling');
    expect(res.json.items.map((k) => k.status)).toEqual([]);
    expect(res.json.total).toBe(0);
  });

  it('shows a rate-limited key as cooling with its cooldown end', async () => {
    const ids = await keyIds();
    const id = idOf(ids, K(1));
    const before = Date.now();
    fx.keyPool.report(gid, id, { class: 'rate', retryAfterMs: 60_000 }, POLICY);
    const k = (await listKeys()).json.items.find((x) => x.id === id);
    expect(k?.status).toBe('cooling');
    expect(Date.parse(k?.cooldownUntil ?? '')).toBeGreaterThanOrEqual(before + 60_000);
  });

  it('shows the models a key cools for while it serves others, running ones only, until re-activated', async () => {
    const ids = await keyIds();
    const id = idOf(ids, K(1));
    const before = Date.now();
    const quota = { class: 'quota', retryAfterMs: 60_000, reason: '429 daily quota' } as const;
    fx.keyPool.report(gid, id, { ...quota, model: 'gemini-2.5-pro' }, POLICY);
    // A cooling for another model that already ended is left out.
    fx.keyPool.report(
      gid,
      id,
      { ...quota, retryAfterMs: 1_000, model: 'gemini-2.5-flash' },
      POLICY,
      before - 5_000,
    );
    const items = (await listKeys()).json.items;
    const k = items.find((x) => x.id === id);
    expect(k).toMatchObject({ status: 'active', cooldownUntil: null });
    expect(k?.modelCooling.map((m) => [m.model, m.reason])).toEqual([
      ['gemini-2.5-pro', '429 daily quota (gemini-2.5-pro)'],
    ]);
    expect(Date.parse(k?.modelCooling[0]?.until ?? '')).toBeGreaterThanOrEqual(before + 60_000);
    expect(items.find((x) => x.id === idOf(ids, K(2)))?.modelCooling).toEqual([]);

    const on = await fx.req<Key>('PATCH', `/api/keys/${id}`, { status: 'active' });
    expect(on.json.modelCooling).toEqual([]);
  });

  it('loads stored model coolings into the pool with the rest of a key', async () => {
    const id = idOf(await keyIds(), K(1));
    const until = Date.now() + 60_000;
    const modelCooling = { 'gemini-2.5-pro': { until, reason: 'quota (gemini-2.5-pro)' } };
    await fx.db.apiKey.update({ where: { id }, data: { modelCooling } });
    const row = await fx.db.apiKey.findUniqueOrThrow({ where: { id } });
    expect(toPoolRecord(row, fx.deps).modelCooling).toEqual(modelCooling);
    await fx.db.apiKey.update({ where: { id }, data: { modelCooling: 'not a map' } });
    const garbled = await fx.db.apiKey.findUniqueOrThrow({ where: { id } });
    expect(toPoolRecord(garbled, fx.deps).modelCooling).toBeNull();
  });
});

describe('DELETE /api/groups/{id}/keys', () => {
  beforeEach(async () => {
    await addKeys([K(1), K(2), K(3), K(4), K(5)]);
  });

  it('deletes by value; the keys leave the pool', async () => {
    const res = await fx.req('DELETE', `/api/groups/${gid}/keys`, { keys: `${K(1)}\n${K(2)}, not-a-key` });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ deleted: 2 });
    expect(fx.keyPool.stats(gid).total).toBe(3);
    expect(await fx.db.apiKey.count({ where: { groupId: gid } })).toBe(3);
    const ids = await keyIds();
    expect([...ids.keys()]).toEqual([K(3), K(4), K(5)]);
    expect(pickedIds()).toEqual(new Set(ids.values()));
  });

  it('deletes by ids; the keys leave the pool', async () => {
    const ids = await keyIds();
    const gone = [idOf(ids, K(2)), idOf(ids, K(4))];
    const res = await fx.req('DELETE', `/api/groups/${gid}/keys`, { ids: gone });
    expect(res.json).toEqual({ deleted: 2 });
    expect(fx.keyPool.stats(gid).total).toBe(3);
    for (const id of gone) expect(fx.keyPool.health(gid, id)).toBeUndefined();
    expect([...pickedIds()].some((id) => gone.includes(id))).toBe(false);
  });

  it('deletes by status (the live one); the keys leave the pool', async () => {
    const ids = await keyIds();
    const bad = [idOf(ids, K(1)), idOf(ids, K(3))];
    for (const id of bad) fx.keyPool.report(gid, id, { class: 'auth' }, POLICY);
    const res = await fx.req('DELETE', `/api/groups/${gid}/keys`, { status: 'invalid' });
    expect(res.json).toEqual({ deleted: 2 });
    expect(fx.keyPool.stats(gid)).toEqual({ total: 3, active: 3, cooling: 0, invalid: 0, disabled: 0 });
    expect((await keyIds()).size).toBe(3);
    for (const id of bad) expect(fx.keyPool.health(gid, id)).toBeUndefined();
  });

  it('does not touch keys of another group', async () => {
    const other = (await fx.req<Group>('POST', '/api/groups', standardGroup('other'))).json;
    await addKeys([K(1), K(9)], other.id);
    const otherIds = await keyIds(other.id);
    const res = await fx.req('DELETE', `/api/groups/${gid}/keys`, { ids: [...otherIds.values()] });
    expect(res.json).toEqual({ deleted: 0 });
    expect(fx.keyPool.stats(other.id).total).toBe(2);
    const byValue = await fx.req('DELETE', `/api/groups/${gid}/keys`, { keys: [K(1)] });
    expect(byValue.json).toEqual({ deleted: 1 });
    expect(await fx.db.apiKey.count({ where: { groupId: other.id } })).toBe(2);
    expect(fx.keyPool.stats(other.id).total).toBe(2);
  });

  it.each([
    ['an empty body', undefined],
    ['an empty id list', { ids: [] }],
    ['an unknown status', { status: 'gone' }],
    ['two selectors at once', { ids: [1], status: 'invalid' }],
    ['a negative id', { ids: [-1] }],
  ])('refuses %s with 400', async (_what, body) => {
    const res = await fx.req<ErrorBody>('DELETE', `/api/groups/${gid}/keys`, body);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('VALIDATION_FAILED');
    expect(await fx.db.apiKey.count()).toBe(5);
  });
});

describe('POST /api/groups/{id}/keys/restore', () => {
  beforeEach(async () => {
    await addKeys([K(1), K(2), K(3)]);
  });

  it('restores keys blacklisted in the pool; they are active and in rotation again', async () => {
    const ids = await keyIds();
    const bad = [idOf(ids, K(1)), idOf(ids, K(2))];
    for (const id of bad) fx.keyPool.report(gid, id, { class: 'auth', reason: 'HTTP 401' }, POLICY);
    expect(fx.keyPool.stats(gid).invalid).toBe(2);
    const res = await fx.req('POST', `/api/groups/${gid}/keys/restore`, {});
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ restored: 2 });
    expect(fx.keyPool.stats(gid)).toEqual({ total: 3, active: 3, cooling: 0, invalid: 0, disabled: 0 });
    expect(pickedIds()).toEqual(new Set(ids.values()));
    for (const id of bad) {
      expect(fx.keyPool.health(gid, id)).toMatchObject({ status: 'active', failureCount: 0 });
      expect((await fx.db.apiKey.findUniqueOrThrow({ where: { id } })).status).toBe('active');
    }
    const list = await listKeys('?status=active');
    expect(list.json.total).toBe(3);
  });

  it('restores cooling keys too, and only the ids asked for', async () => {
    const ids = await keyIds();
    fx.keyPool.report(gid, idOf(ids, K(1)), { class: 'rate', retryAfterMs: 600_000 }, POLICY);
    fx.keyPool.report(gid, idOf(ids, K(2)), { class: 'auth' }, POLICY);
    const res = await fx.req('POST', `/api/groups/${gid}/keys/restore`, { ids: [idOf(ids, K(1))] });
    expect(res.json).toEqual({ restored: 1 });
    expect(fx.keyPool.health(gid, idOf(ids, K(1)))?.status).toBe('active');
    expect(fx.keyPool.health(gid, idOf(ids, K(2)))?.status).toBe('invalid');
  });

  it('leaves disabled keys alone and restores nothing when all are healthy', async () => {
    const ids = await keyIds();
    await fx.req('PATCH', `/api/keys/${idOf(ids, K(3))}`, { status: 'disabled' });
    const res = await fx.req('POST', `/api/groups/${gid}/keys/restore`, {});
    expect(res.json).toEqual({ restored: 0 });
    expect(fx.keyPool.health(gid, idOf(ids, K(3)))?.status).toBe('disabled');
  });
});

describe('PATCH /api/keys/{id}', () => {
  beforeEach(async () => {
    await addKeys([K(1), K(2)]);
  });

  it('sets notes (trimmed) and returns the masked key', async () => {
    const id = idOf(await keyIds(), K(1));
    const res = await fx.req<Key>('PATCH', `/api/keys/${id}`, { notes: '  owner: ops  ' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id, groupId: gid, notes: 'owner: ops', status: 'active' });
    expect(res.text).not.toContain(K(1));
    expect((await listKeys()).json.items.find((k) => k.id === id)?.notes).toBe('owner: ops');
  });

  it('disables a key (out of the rotation) and enables it again', async () => {
    const ids = await keyIds();
    const id = idOf(ids, K(1));
    const off = await fx.req<Key>('PATCH', `/api/keys/${id}`, { status: 'disabled' });
    expect(off.status).toBe(200);
    expect(off.json.status).toBe('disabled');
    expect(pickedIds()).toEqual(new Set([idOf(ids, K(2))]));
    expect((await fx.db.apiKey.findUniqueOrThrow({ where: { id } })).status).toBe('disabled');
    expect(fx.keyPool.stats(gid).disabled).toBe(1);

    const on = await fx.req<Key>('PATCH', `/api/keys/${id}`, { status: 'active' });
    expect(on.json.status).toBe('active');
    expect(pickedIds()).toEqual(new Set(ids.values()));
  });

  it('re-activating an invalid key clears its failures', async () => {
    const id = idOf(await keyIds(), K(1));
    fx.keyPool.report(gid, id, { class: 'auth' }, POLICY);
    const res = await fx.req<Key>('PATCH', `/api/keys/${id}`, { status: 'active' });
    expect(res.json).toMatchObject({ status: 'active', failureCount: 0, cooldownUntil: null });
  });

  it('answers an unknown key id with 404', async () => {
    for (const id of ['424242', 'abc', '0', '99999999999']) {
      const res = await fx.req<ErrorBody>('PATCH', `/api/keys/${id}`, { notes: 'x' });
      expect(res.status, id).toBe(404);
      expect(res.json.error.code).toBe('NOT_FOUND');
    }
  });

  it.each([
    ['status invalid (only the pool sets it)', { status: 'invalid' }],
    ['status cooling', { status: 'cooling' }],
    ['notes over 1000 characters', { notes: 'n'.repeat(1001) }],
    ['an unknown field', { key: 'sk-new' }],
    ['a number for notes', { notes: 5 }],
  ])('refuses %s with 400 and changes nothing', async (_what, body) => {
    const id = idOf(await keyIds(), K(1));
    const res = await fx.req<ErrorBody>('PATCH', `/api/keys/${id}`, body);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('VALIDATION_FAILED');
    expect(await fx.db.apiKey.findUniqueOrThrow({ where: { id } })).toMatchObject({
      notes: '',
      status: 'active',
    });
  });
});
