/**
 * Issue 11 item 10 (proxyUrl), as issue 15 made it real: an egress proxy URL carries credentials, so they are
 * write-only — never shown by the admin API — a value that is not a proxy URL is refused, an empty one means
 * direct, and a proxy that cannot be reached fails the request without charging the key.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createGroupWithKey, startTarget } from './support';
import type { AttackTarget } from './support';

interface Problem {
  path: string;
  message: string;
}

const PASS = 'attack10-proxy-pass-5e2b';

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('attack 10: a proxyUrl and its credentials', { timeout: 120_000 }, () => {
  let target: AttackTarget;

  beforeAll(async () => {
    target = await startTarget({ label: 'attack-10-proxy-url' });
  });
  afterAll(() => target?.close());

  it('refuses a URL that is not a proxy URL, globally and per group', async () => {
    const res = await target.admin.patch('/settings', { proxyUrl: 'ftp://127.0.0.1:21' });
    expect(res.status).toBe(400);
    expect((res.body.error as unknown as { details: Problem[] }).details.map((d) => d.path)).toEqual([
      'proxyUrl',
    ]);
    const group = await target.admin.post('/groups', {
      name: 'proxied',
      channel: 'openai',
      upstreams: [{ url: target.upstreamUrl }],
      config: { proxyUrl: 'http://127.0.0.1:3128/some/path' },
    });
    expect(group.status).toBe(400);
    expect((group.body.error as unknown as { details: Problem[] }).details[0]?.path).toBe('config.proxyUrl');
  });

  it('never shows a group proxy password, and an unreachable proxy leaves the key active', async () => {
    const port = await closedPort();
    const group = await createGroupWithKey(target, {
      group: { config: { proxyUrl: `socks5://attacker:${PASS}@127.0.0.1:${port}` } },
    });
    const shown = await target.admin.get(`/groups/${group.id}`);
    expect(JSON.stringify(shown.body)).not.toContain(PASS);
    expect(shown.body['config']).toEqual({ proxyUrl: `socks5://…@127.0.0.1:${port}` });
    expect((await chat(group)).status).toBe(502);
    const keys = await target.admin.get(`/groups/${group.id}/keys`);
    expect(JSON.stringify(keys.body)).not.toContain(PASS);
    expect(keys.body['items']).toEqual([expect.objectContaining({ status: 'active', failureCount: 0 })]);
    const logs = await target.admin.get('/logs');
    expect(JSON.stringify(logs.body)).not.toContain(PASS);
  });

  it('an empty proxyUrl means direct', async () => {
    const res = await target.admin.patch('/settings', { proxyUrl: '', maxRetries: 2 });
    expect(res.status).toBe(200);
    expect(res.body['values']).toMatchObject({ proxyUrl: null });
    const group = await createGroupWithKey(target);
    expect((await chat(group)).status).toBe(200);
  });
});
