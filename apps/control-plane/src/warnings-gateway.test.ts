import type { Group, Warning } from '@keyway/contracts';
import { warningsSchema } from '@keyway/contracts';
import { writeRequestLogs } from '@keyway/db';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from './app';
import { dashboardRoutes } from './dashboard';
import type { Fixture } from './testing/fixture';
import { createFixture, createRequester, standardGroup } from './testing/fixture';
import { logRecord } from './testing/log-record';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

async function warnings(): Promise<Warning[]> {
  const app = createApp(fx.deps);
  app.route('/api/dashboard', dashboardRoutes());
  const res = await createRequester(app, fx.deps.authKey)<Warning[]>('GET', '/api/dashboard/warnings');
  expect(res.status, res.text).toBe(200);
  return warningsSchema.parse(res.json);
}

async function create(name: string): Promise<Group> {
  const res = await fx.req<Group>('POST', '/api/groups', standardGroup(name));
  expect(res.status, res.text).toBe(201);
  return res.json;
}

describe('dashboard warnings from the gateway (issue 11 items 2 and 8)', () => {
  it('names a group whose stored header rule or upstream URL the gateway cannot send, without the value', async () => {
    const g = await create('broken');
    await create('fine');
    // Written straight to the database: data stored before write validation existed.
    await fx.db.group.update({
      where: { id: g.id },
      data: {
        headerRules: [{ action: 'set', key: 'X-Token', value: 'tok-secret-123\r\nX-Evil: 1' }],
        upstreams: [{ url: 'ftp://files.example/v1', weight: 1 }],
      },
    });
    const found = (await warnings()).filter((w) => w.type === 'GATEWAY_CONFIG');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ severity: 'high' });
    expect(found[0]?.message).toContain("Group 'broken'");
    expect(found[0]?.message).toContain('headerRules[0].value');
    expect(found[0]?.message).toContain('upstreams[0].url');
    expect(found[0]?.message).not.toContain('tok-secret-123');
    expect(found[0]?.message).not.toContain('files.example');
  });

  it('names upstreams the egress policy refuses: stored metadata addresses, and private ones once egressBlockPrivate is on', async () => {
    const meta = await create('meta');
    const local = await create('local');
    await fx.db.group.update({
      where: { id: meta.id },
      data: { upstreams: [{ url: 'http://169.254.169.254/latest', weight: 1 }] },
    });
    await fx.db.group.update({
      where: { id: local.id },
      data: { upstreams: [{ url: 'http://127.0.0.1:11434', weight: 1 }] },
    });
    const before = (await warnings()).filter((w) => w.type === 'GATEWAY_CONFIG');
    expect(before.map((w) => w.message).join('\n')).toContain("Group 'meta'");
    expect(before.map((w) => w.message).join('\n')).not.toContain("Group 'local'");
    expect(before[0]?.message).toContain('egress policy');

    const patched = await fx.req('PATCH', '/api/settings', { egressBlockPrivate: true });
    expect(patched.status, patched.text).toBe(200);
    const after = (await warnings()).filter((w) => w.type === 'GATEWAY_CONFIG');
    expect(after.map((w) => w.message).join('\n')).toContain("Group 'local'");
  });

  it('warns once more than 100 proxy requests were refused for a wrong key in the last hour, naming groups', async () => {
    const now = Date.now();
    const refused = (n: number, group: string, minutesAgo: number) =>
      logRecord(n, {
        time: new Date(now - minutesAgo * 60_000).toISOString(),
        groupId: 1,
        groupName: group,
        statusCode: 401,
        success: false,
        attempts: [],
        keyMasked: null,
        proxyKeyMasked: null,
        error: 'Invalid proxy key',
      });
    const batch = Array.from({ length: 100 }, (_, i) => refused(i + 1, i < 70 ? 'team-a' : 'team-b', 5));
    // Older than an hour: not counted.
    batch.push(...Array.from({ length: 50 }, (_, i) => refused(1000 + i, 'team-a', 90)));
    await writeRequestLogs(fx.db, batch);
    expect((await warnings()).map((w) => w.type)).not.toContain('PROXY_AUTH_FAILURES');

    await writeRequestLogs(fx.db, [refused(2000, 'team-b', 1)]);
    const found = (await warnings()).find((w) => w.type === 'PROXY_AUTH_FAILURES');
    expect(found?.message).toContain('101 proxy requests');
    expect(found?.message).toContain("'team-a' (70), 'team-b' (31)");
  });
});
