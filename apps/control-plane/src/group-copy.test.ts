import type { Group } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Fixture } from './testing/fixture';
import { createFixture, POLICY, standardGroup } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  await fx.reset();
});

async function group(name: string, extra: Record<string, unknown> = {}): Promise<Group> {
  const res = await fx.req<Group>('POST', '/api/groups', standardGroup(name, extra));
  expect(res.status, res.text).toBe(201);
  return res.json;
}

async function addKeys(id: number, keys: string[]): Promise<void> {
  const res = await fx.req('POST', `/api/groups/${id}/keys`, { keys });
  expect(res.status, res.text).toBe(200);
}

describe('group copy', () => {
  it('copies every field and all keys under a free "-copy" name', async () => {
    const src = await group('src', { proxyKeys: ['proxy-Key-for-copy-001'], modelRedirects: { a: 'b' } });
    await addKeys(src.id, ['sk-copy-a-0000000001', 'sk-copy-b-0000000002']);
    const res = await fx.req<Group>('POST', `/api/groups/${src.id}/copy`, {});
    expect(res.status, res.text).toBe(201);
    expect(res.json.name).toBe('src-copy');
    expect(res.json.modelRedirects).toEqual({ a: 'b' });
    expect(res.json.proxyKeys).toEqual(src.proxyKeys);
    expect(res.json.keyStats.total).toBe(2);
    const again = await fx.req<Group>('POST', `/api/groups/${src.id}/copy`, { keys: 'none' });
    expect(again.json.name).toBe('src-copy-2');
    expect(again.json.keyStats.total).toBe(0);
  });

  it('copies only valid keys when asked', async () => {
    const src = await group('valid-src');
    await addKeys(src.id, ['sk-valid-a-0000000001', 'sk-valid-b-0000000002', 'sk-valid-c-0000000003']);
    const listed = await fx.req<{ items: Array<{ id: number }> }>('GET', `/api/groups/${src.id}/keys`);
    const bad = listed.json.items[0]?.id as number;
    fx.keyPool.report(src.id, bad, { class: 'auth' }, POLICY);
    const res = await fx.req<Group>('POST', `/api/groups/${src.id}/copy`, {
      name: 'valid-only',
      keys: 'valid',
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.keyStats.total).toBe(2);
  });

  it('refuses a taken name with 409 and an unknown group with 404', async () => {
    const a = await group('taken-a');
    await group('taken-b');
    expect((await fx.req('POST', `/api/groups/${a.id}/copy`, { name: 'taken-b' })).status).toBe(409);
    expect((await fx.req('POST', '/api/groups/999999/copy', {})).status).toBe(404);
    expect((await fx.req('POST', `/api/groups/${a.id}/copy`, { keys: 'some' })).status).toBe(400);
  });
});

describe('group order', () => {
  it('reorders groups as listed', async () => {
    const a = await group('order-a');
    const b = await group('order-b');
    const c = await group('order-c');
    const res = await fx.req('PUT', '/api/groups/order', { ids: [c.id, a.id, b.id] });
    expect(res.status, res.text).toBe(204);
    const list = await fx.req<{ items: Group[] }>('GET', '/api/groups');
    expect(list.json.items.map((g) => g.name)).toEqual(['order-c', 'order-a', 'order-b']);
    expect(fx.onConfigChanged).toHaveBeenCalled();
  });

  it('rejects unknown or repeated ids', async () => {
    const a = await group('order-x');
    expect((await fx.req('PUT', '/api/groups/order', { ids: [a.id, a.id] })).status).toBe(400);
    expect((await fx.req('PUT', '/api/groups/order', { ids: [a.id, 424242] })).status).toBe(400);
  });
});

describe('key export', () => {
  it('streams plaintext keys one per line, filtered by state, only to admins', async () => {
    const g = await group('export');
    await addKeys(g.id, ['sk-export-a-000000001', 'sk-export-b-000000002']);
    const res = await fx.req('GET', `/api/groups/${g.id}/keys/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.text.trim().split('\n').sort()).toEqual(['sk-export-a-000000001', 'sk-export-b-000000002']);
    const listed = await fx.req<{ items: Array<{ id: number }> }>('GET', `/api/groups/${g.id}/keys`);
    fx.keyPool.report(g.id, listed.json.items[0]?.id as number, { class: 'auth' }, POLICY);
    const invalid = await fx.req('GET', `/api/groups/${g.id}/keys/export?status=invalid`);
    expect(invalid.text.trim().split('\n')).toHaveLength(1);
    expect((await fx.req('GET', `/api/groups/${g.id}/keys/export`, undefined, { auth: false })).status).toBe(
      401,
    );
  });
});
