import type { AuditPage } from '@keyway/contracts';
import { auditPageSchema } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from './app';
import { auditRoutes } from './audit';
import type { ErrorBody, Fixture, Requester } from './testing/fixture';
import { createFixture, createRequester, standardGroup } from './testing/fixture';

let fx: Fixture;
let req: Requester;
beforeAll(async () => {
  fx = await createFixture();
  const app = createApp(fx.deps);
  // The mount app.ts gets; once it has it, that one answers first (the same factory either way).
  app.route('/api/audit', auditRoutes());
  req = createRequester(app);
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

async function audit(query = ''): Promise<AuditPage> {
  const res = await req<AuditPage>('GET', `/api/audit${query}`);
  expect(res.status, res.text).toBe(200);
  return auditPageSchema.parse(res.json);
}

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

describe('GET /api/audit', () => {
  it('lists what the admin API recorded, with the API shape', async () => {
    await fx.req('POST', '/api/groups', standardGroup('audited'));
    const page = await audit();
    expect(page).toMatchObject({ total: 1, page: 1, pageSize: 50 });
    expect(page.items[0]).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
      clientIp: '',
      action: 'group.create',
      target: expect.stringMatching(/^group:\d+$/) as string,
      details: { name: 'audited' },
    });
  });

  it('pages newest first, whatever the insert order', async () => {
    for (const n of [3, 1, 5, 2, 4])
      await fx.db.auditLog.create({
        data: { time: new Date(T0 + n * 60_000), action: `a${n}`, target: 't', details: {} },
      });
    const p1 = await audit('?pageSize=2');
    const p2 = await audit('?pageSize=2&page=2');
    const p3 = await audit('?pageSize=2&page=3');
    expect(p1).toMatchObject({ total: 5, page: 1, pageSize: 2 });
    expect([...p1.items, ...p2.items, ...p3.items].map((e) => e.action)).toEqual([
      'a5',
      'a4',
      'a3',
      'a2',
      'a1',
    ]);
    expect((await audit('?pageSize=2&page=4')).items).toEqual([]);
  });

  it.each(['?page=0', '?pageSize=0', '?pageSize=1001'])('refuses %s with 400', async (query) => {
    const res = await req<ErrorBody>('GET', `/api/audit${query}`);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('VALIDATION_FAILED');
  });

  it('requires the admin key', async () => {
    expect((await req('GET', '/api/audit', undefined, { auth: false })).status).toBe(401);
  });
});
