/**
 * Issue 11 item 10 (proxyUrl): the setting was accepted and shown, but no request ever went through a proxy. Until
 * outbound proxies exist it is not offered: a non-empty value is refused with why, an empty one (what an older
 * console sends back) is accepted and dropped, and requests never depend on it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createGroupWithKey, startTarget } from './support';
import type { AttackTarget } from './support';

interface Problem {
  path: string;
  message: string;
}

describe('attack 10: a proxyUrl that does nothing', { timeout: 120_000 }, () => {
  let target: AttackTarget;

  beforeAll(async () => {
    target = await startTarget({ label: 'attack-10-proxy-url' });
  });
  afterAll(() => target?.close());

  it('is not offered by GET /api/settings', async () => {
    const res = await target.admin.get('/settings');
    expect(res.body['values']).not.toHaveProperty('proxyUrl');
    expect((res.body['schema'] as Array<{ key: string }>).map((e) => e.key)).not.toContain('proxyUrl');
  });

  it('a non-empty proxyUrl is refused, globally and per group, saying it is not supported yet', async () => {
    const res = await target.admin.patch('/settings', { proxyUrl: 'http://127.0.0.1:3128' });
    expect(res.status).toBe(400);
    const details = (res.body.error as unknown as { details: Problem[] }).details;
    expect(details.map((d) => d.path)).toEqual(['proxyUrl']);
    expect(details[0]?.message).toMatch(/^proxyUrl is not supported yet/);
    const group = await target.admin.post('/groups', {
      name: 'proxied',
      channel: 'openai',
      upstreams: [{ url: target.upstreamUrl }],
      config: { proxyUrl: 'socks5://127.0.0.1:1080' },
    });
    expect(group.status).toBe(400);
    expect((group.body.error as unknown as { details: Problem[] }).details[0]?.path).toBe('config.proxyUrl');
  });

  it('an empty proxyUrl sent back by an older console is accepted and requests go direct', async () => {
    const res = await target.admin.patch('/settings', { proxyUrl: '', maxRetries: 2 });
    expect(res.status).toBe(200);
    expect(res.body['values']).not.toHaveProperty('proxyUrl');
    const group = await createGroupWithKey(target, { group: { config: { proxyUrl: '' } } });
    expect((await target.admin.get(`/groups/${group.id}`)).body['config']).toEqual({});
    expect((await chat(group)).status).toBe(200);
  });
});
