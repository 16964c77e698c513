/**
 * Issue 11 item 7: the egress policy. Every upstream URL used to be accepted — the metadata address in all its
 * spellings, `http://user:pass@…` (then shown in clear), CR/LF in the path, the gateway's own port — and loopback
 * forms reached a local listener with the upstream key in `Authorization`.
 */
import { startBystander } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createGroupWithKey, startTarget } from './support';
import type { AttackTarget, CreatedGroup } from './support';

interface Problem {
  path: string;
  message: string;
}

/** A local service that is not an AI upstream: it records who connects and what they send. */
function bystander() {
  return startBystander('{"id":"x","choices":[]}');
}

describe('attack 07: where upstream keys may be sent', { timeout: 120_000 }, () => {
  let target: AttackTarget;
  let local: Awaited<ReturnType<typeof bystander>>;

  beforeAll(async () => {
    target = await startTarget({ label: 'attack-07' });
    local = await bystander();
  });
  afterAll(async () => {
    await local?.close();
    await target?.close();
  });

  const create = (name: string, url: string) =>
    target.admin.post('/groups', { name, channel: 'openai', upstreams: [{ url }] });
  const problems = (body: { error?: unknown }) => (body.error as { details: Problem[] }).details;

  it.each([
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'http://2852039166/',
    'http://0251.0376.0251.0376/',
    'http://0xa9fea9fe/',
    'http://[::ffff:169.254.169.254]/',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://metadata.goog/',
  ])('the metadata upstream %s is refused on write', async (url) => {
    const res = await create('metadata', url);
    expect(res.status).toBe(400);
    expect(problems(res.body).map((p) => p.path)).toEqual(['upstreams.0.url']);
    expect(problems(res.body)[0]?.message).toMatch(/never allowed/);
  });

  it('credentials in an upstream URL are refused and never echoed', async () => {
    const res = await create('userinfo', 'http://admin:s3cr3t-pass@api.example.com/v1');
    expect(res.status).toBe(400);
    expect(problems(res.body)[0]?.message).toMatch(/credentials belong in keys or header rules/);
    expect(JSON.stringify(res.body)).not.toContain('s3cr3t-pass');
    expect(JSON.stringify((await target.admin.get('/groups')).body)).not.toContain('s3cr3t-pass');
  });

  it('CR/LF in an upstream URL is refused', async () => {
    const res = await create('crlf', 'http://api.example.com/v1\r\nX-Injected: 1');
    expect(res.status).toBe(400);
    expect(problems(res.body)[0]?.path).toBe('upstreams.0.url');
  });

  it("the gateway's own port is refused on write, by address and by name", async () => {
    for (const url of [`http://127.0.0.1:${target.port}`, `http://localhost:${target.port}/v1`]) {
      const res = await create('loop', url);
      expect(res.status).toBe(400);
      expect(problems(res.body)[0]?.message).toMatch(/this gateway itself/);
    }
  });

  it('with egressBlockPrivate, a loopback service that is not the upstream never sees the key', async () => {
    // Written while private addresses are allowed (a local model is a real use), by IP and by name.
    const byIp = await createGroupWithKey({ ...target, upstreamUrl: `http://127.0.0.1:${local.port}` });
    const byName = await createGroupWithKey({ ...target, upstreamUrl: `http://localhost:${local.port}` });
    const on = await target.admin.patch('/settings', { egressBlockPrivate: true });
    expect(on.status).toBe(200);
    expect((on.body['values'] as { egressBlockPrivate: boolean }).egressBlockPrivate).toBe(true);

    for (const group of [byIp, byName] as CreatedGroup[]) {
      const res = await chat(group);
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.text).not.toContain(group.upstreamKey);
    }
    expect(local.seen.connections).toBe(0);
    expect(local.seen.headers.map((h) => h.authorization)).toEqual([]);

    // New private upstreams are refused on write now.
    const res = await create('private', `http://127.0.0.1:${local.port}`);
    expect(res.status).toBe(400);
    expect(problems(res.body)[0]?.message).toMatch(/egressBlockPrivate/);

    // And key validation does not carry the key there either.
    const keys = (await target.admin.get(`/groups/${byName.id}/keys`)).body['items'] as Array<{ id: number }>;
    const tested = await target.admin.post(`/keys/${keys[0]?.id}/test`);
    expect(tested.status).toBe(200);
    expect(tested.body['valid']).toBe(false);
    expect((tested.body as Record<string, unknown>)['error']).toMatch(/egress refused/);
    expect(local.seen.connections).toBe(0);
  });

  it('the default still allows a loopback upstream (local models are a real use)', async () => {
    expect((await target.admin.patch('/settings', { egressBlockPrivate: false })).status).toBe(200);
    const group = await createGroupWithKey(target);
    expect((await chat(group)).status).toBe(200);
  });
});
