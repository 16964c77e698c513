import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from './testing/fixture';
import { createFixture, standardGroup } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());

describe('input hygiene', () => {
  it('refuses NUL characters in group text (PostgreSQL cannot store them) with a 400', async () => {
    const res = await fx.req('POST', '/api/groups', standardGroup('nul-group', { description: 'a\u0000b' }));
    expect(res.status).toBe(400);
    expect((await fx.req<{ items: unknown[] }>('GET', '/api/groups')).json.items).toHaveLength(0);
  });

  it('refuses a key longer than 4096 characters with a 400 and adds nothing', async () => {
    const g = await fx.req<{ id: number }>('POST', '/api/groups', standardGroup('long-key'));
    const res = await fx.req('POST', `/api/groups/${g.json.id}/keys`, {
      keys: `sk-ok-000000000001 sk-${'x'.repeat(5000)}`,
    });
    expect(res.status).toBe(400);
    const list = await fx.req<{ total: number }>('GET', `/api/groups/${g.json.id}/keys`);
    expect(list.json.total).toBe(0);
  });
});
