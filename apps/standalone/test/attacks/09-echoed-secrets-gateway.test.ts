/**
 * Issue 11 item 9 (gateway side): an upstream error message containing the caller's proxy key or AUTH_KEY reached
 * the client, the request log and the CSV export verbatim; headers naming the upstream account were relayed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, createGroupWithKey, startTarget } from './support';
import type { AttackTarget, CreatedGroup } from './support';

describe('attack 09: secrets echoed by the upstream', { timeout: 120_000 }, () => {
  let target: AttackTarget;
  let group: CreatedGroup;

  beforeAll(async () => {
    target = await startTarget({ label: 'attack-09' });
    group = await createGroupWithKey(target, { name: 'echoing', group: { config: { maxRetries: 0 } } });
  });
  afterAll(() => target?.close());

  it("an upstream error quoting the caller's proxy key, AUTH_KEY and the upstream key: masked for the client, in the log and the CSV", async () => {
    const secrets = [group.proxyKey, target.authKey, group.upstreamKey];
    target.fake?.setKeyBehaviour(group.upstreamKey, {
      status: 400,
      message: `Unrecognized request headers: authorization=Bearer ${group.proxyKey}, x-admin=${target.authKey}, key=${group.upstreamKey}`,
    });
    const res = await chat(group);
    expect(res.status).toBe(400);
    expect(res.text).toContain('Unrecognized request headers');
    for (const s of secrets) expect(res.text).not.toContain(s);

    let logs = '';
    for (let i = 0; i < 50 && !logs.includes('Unrecognized'); i++) {
      logs = JSON.stringify((await target.admin.get('/logs')).body);
      if (!logs.includes('Unrecognized')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(logs).toContain('Unrecognized request headers');
    const csv = await (
      await fetch(`${target.url}/api/logs/export`, { headers: { authorization: `Bearer ${target.authKey}` } })
    ).text();
    expect(csv).toContain('Unrecognized request headers');
    for (const s of secrets) {
      expect(logs).not.toContain(s);
      expect(csv).not.toContain(s);
    }
  });

  it('headers naming the upstream account are removed from the relayed response', async () => {
    target.fake?.setKeyBehaviour(group.upstreamKey, {
      headers: {
        'openai-organization': 'org-tenant-behind-the-pool',
        'openai-project': 'proj_tenant',
        'anthropic-organization-id': '0f0e0d0c-0000-4000-8000-000000000001',
      },
    });
    const res = await chat(group);
    expect(res.status).toBe(200);
    for (const name of ['openai-organization', 'openai-project', 'anthropic-organization-id'])
      expect(res.headers.get(name)).toBeNull();
  });
});
