/**
 * Issue 11 item 8 (write side): proxy keys written through the API have a minimum strength, global and per group —
 * the global proxy key `a` was accepted and then opened every group.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createGroupWithKey, randomSecret, startTarget } from './support';
import type { AttackTarget, CreatedGroup } from './support';

interface Problem {
  path: string;
  message: string;
}

describe('attack 08: weak proxy keys', { timeout: 120_000 }, () => {
  let target: AttackTarget;
  let group: CreatedGroup;

  beforeAll(async () => {
    target = await startTarget({ label: 'attack-08-strength' });
    group = await createGroupWithKey(target, { name: 'strong' });
  });
  afterAll(() => target?.close());

  it.each(['a', 'password', 'changeme-changeme', 'aaaaaaaaaaaaaaaaaaaa'])(
    'the global proxy key %j is refused with 400 at proxyKeys.0 and opens nothing',
    async (weak) => {
      const res = await target.admin.patch('/settings', { proxyKeys: [weak] });
      expect(res.status).toBe(400);
      const details = (res.body.error as unknown as { details: Problem[] }).details;
      expect(details.map((d) => d.path)).toEqual(['proxyKeys.0']);
      expect(details[0]?.message).toMatch(/too weak/);
      expect(JSON.stringify(res.body)).not.toContain(`${weak}"`);
      expect((await chat({ ...group, proxyKey: weak })).status).toBe(401);
    },
  );

  it('a weak group proxy key is refused on create and on update', async () => {
    const created = await target.admin.post('/groups', {
      name: 'weak',
      channel: 'openai',
      upstreams: [{ url: target.upstreamUrl }],
      proxyKeys: ['team-a'],
    });
    expect(created.status).toBe(400);
    expect((created.body.error as unknown as { details: Problem[] }).details[0]?.path).toBe('proxyKeys.0');
    const patched = await target.admin.patch(`/groups/${group.id}`, { proxyKeys: ['admin123'] });
    expect(patched.status).toBe(400);
    expect((await chat({ ...group, proxyKey: 'admin123' })).status).toBe(401);
    expect((await chat(group)).status).toBe(200);
  });

  it('a random 16+ character global key works, and sending back its masked form keeps it', async () => {
    const strong = randomSecret('', 24);
    const res = await target.admin.patch('/settings', { proxyKeys: [strong] });
    expect(res.status).toBe(200);
    const masked = (res.body['values'] as { proxyKeys: string[] }).proxyKeys;
    expect(masked[0]).not.toBe(strong);
    expect((await chat({ ...group, proxyKey: strong })).status).toBe(200);
    // The console re-sends what it read: the masked value is no key and is not judged.
    expect((await target.admin.patch('/settings', { proxyKeys: masked })).status).toBe(200);
    expect((await chat({ ...group, proxyKey: strong })).status).toBe(200);
  });
});
