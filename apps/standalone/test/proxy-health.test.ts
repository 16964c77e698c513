/**
 * Issue 15, egress proxies seen from the admin API of one standalone process: a proxy the gateway penalised shows
 * unhealthy (masked, with why) on `GET /api/groups/{id}/proxies`, and "test this key" leaves through the key's proxy,
 * never blaming the key for a proxy that is down.
 */
import { freePort, startHttpProxy } from '@keyway/testing';
import type { TestProxy } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createGroupWithKey, startTarget } from './attacks/support';
import type { AttackTarget } from './attacks/support';

const PASS = 'proxy-health-pass-3a7c';

describe('egress proxy health and key tests through the proxy (standalone)', { timeout: 120_000 }, () => {
  let target: AttackTarget;
  let proxy: TestProxy;

  beforeAll(async () => {
    target = await startTarget({ label: 'proxy-health' });
    proxy = await startHttpProxy({ user: 'u', pass: PASS });
  });
  afterAll(async () => {
    await proxy?.close();
    await target?.close();
  });

  const firstKeyId = async (groupId: number): Promise<number> => {
    const keys = await target.admin.get(`/groups/${groupId}/keys`);
    return (keys.body['items'] as Array<{ id: number }>)[0]?.id as number;
  };

  it('shows a proxy the gateway penalised unhealthy, and a key test through it does not blame the key', async () => {
    const port = await freePort();
    const group = await createGroupWithKey(target, {
      group: { config: { proxyUrl: `http://u:${PASS}@127.0.0.1:${port}` } },
    });
    expect((await chat(group)).status).toBe(502);

    const res = await target.admin.get(`/groups/${group.id}/proxies`);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain(PASS);
    const [item] = res.body['items'] as Array<Record<string, unknown>>;
    expect(item).toMatchObject({ proxy: `http://…@127.0.0.1:${port}`, healthy: false, keys: 1 });
    expect(Date.parse(item?.['penalizedUntil'] as string)).toBeGreaterThan(Date.now() - 1000);
    expect(item?.['lastError']).toMatch(
      new RegExp(`^proxy http://…@127\\.0\\.0\\.1:${port} failed: ECONNREFUSED`),
    );

    const keyId = await firstKeyId(group.id);
    const test = await target.admin.post(`/keys/${keyId}/test`);
    expect(test.body).toMatchObject({ valid: false, statusCode: null });
    expect(test.body['error']).toContain(`http://…@127.0.0.1:${port}`);
    expect(JSON.stringify(test.body)).not.toContain(PASS);
    const keys = await target.admin.get(`/groups/${group.id}/keys`);
    expect(keys.body['items']).toEqual([expect.objectContaining({ id: keyId, status: 'active' })]);
  });

  it('tests a key through its proxy: the upstream is reached by way of the proxy, which stays healthy', async () => {
    const group = await createGroupWithKey(target, {
      group: { config: { proxyUrl: `http://u:${PASS}@127.0.0.1:${proxy.port}` } },
    });
    const test = await target.admin.post(`/keys/${await firstKeyId(group.id)}/test`);
    expect(test.body).toMatchObject({ valid: true, statusCode: 200 });
    expect(proxy.seen.targets).toContain(new URL(target.upstreamUrl).host);
    expect(proxy.seen.bytes).toContain(group.upstreamKey);

    const res = await target.admin.get(`/groups/${group.id}/proxies`);
    expect(res.body['items']).toEqual([
      {
        proxy: `http://…@127.0.0.1:${proxy.port}`,
        healthy: true,
        penalizedUntil: null,
        lastError: null,
        keys: 1,
      },
    ]);
  });
});
