// The usage counters do not depend on request logging: with `requestLogging: off` nothing is logged, yet the
// dashboard, the group's stats and the keys' request counts still count every request (hourly stats used to be
// built from the log rows, so `off` silently zeroed them). Runs the built app on SQLite: its writer thread.
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'usage-admin-Key-3e8b1f6a9c2d5e70';
const PROXY_KEY = 'usage-proxy-Key-8a2c4e6f1b3d';

describe('usage counters with request logging off', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let admin: ReturnType<typeof adminClient>;
  let groupId: number;

  beforeAll(async () => {
    fake = await startFakeUpstream({ responseChunks: ['a', 'b', 'c'] });
    tmp = tempDir('usage');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    admin = adminClient(app.url, AUTH_KEY);
    const created = await admin.post('/groups', {
      name: 'counted',
      channel: 'openai',
      upstreams: [{ url: fake.url, weight: 1 }],
      proxyKeys: [PROXY_KEY],
    });
    expect(created.status).toBe(201);
    groupId = created.body.id as number;
    expect(
      (await admin.post(`/groups/${groupId}/keys`, { keys: 'sk-usage-upstream-aaaaaaaa0001' })).status,
    ).toBe(200);
    expect((await admin.patch('/settings', { requestLogging: 'off' })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  it('counts every request in the dashboard, the group stats and the key while logging none', async () => {
    const call = (stream: boolean) =>
      fetch(`${app.url}/proxy/counted/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream }),
      });
    for (const stream of [false, true, true]) {
      const res = await call(stream);
      expect(res.status).toBe(200);
      await res.text();
    }
    // A wrong proxy key is refused, and counted as a failure.
    const refused = await fetch(`${app.url}/proxy/counted/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong-proxy-key-0000', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(401);

    // Batches are written about once a second.
    let summary: Record<string, unknown> = {};
    for (let i = 0; i < 50; i++) {
      summary = (await admin.get('/dashboard/summary?range=24h')).body;
      if (summary.requests === 4) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(summary).toMatchObject({ requests: 4 });
    // Streams without include_usage count their tokens too: the gateway asked for them.
    expect(summary.tokens).toMatchObject({ completion: 9 });

    const stats = (await admin.get(`/groups/${groupId}/stats`)).body as {
      requests: Record<'24h', { total: number; failed: number }>;
    };
    expect(stats.requests['24h']).toEqual({ total: 4, failed: 1 });
    const keys = (await admin.get(`/groups/${groupId}/keys`)).body as {
      items: Array<{ requestCount: number; lastUsedAt: string | null }>;
    };
    expect(keys.items[0]).toMatchObject({ requestCount: 3 });
    expect(keys.items[0]?.lastUsedAt).not.toBeNull();
    expect((await admin.get('/logs')).body).toMatchObject({ total: 0 });
  });
});
