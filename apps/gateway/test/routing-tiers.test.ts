import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, PROXY_KEY, send, startGateway } from './harness';
import type { GroupSpec, TestGateway } from './harness';

const FREE = ['sk-test-free-aaaaaaaaaaaa0001', 'sk-test-free-aaaaaaaaaaaa0002'];
const PAID = ['sk-test-paid-bbbbbbbbbbbb0003'];
const GLOBAL = 'kw-global-routing-tiers-7e8f9a0b1c2d';

let fake: FakeUpstream | undefined;
let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  await fake?.close();
  gw = undefined;
  fake = undefined;
});

/**
 * A gateway over `groups`, then reconfigured with sub-group priorities and model aliases (the test harness's group
 * specs name neither).
 */
async function setup(
  groups: GroupSpec[],
  priorities: Record<string, number>,
  aliases: Record<string, Record<string, string[]>> = {},
): Promise<{ fake: FakeUpstream; gw: TestGateway }> {
  const g = await startGateway({ groups, globalProxyKeys: [GLOBAL] });
  const names = new Map(g.snapshot.groups.map((s) => [s.id, s.name]));
  g.reconfigure({
    ...g.snapshot,
    groups: g.snapshot.groups.map((s) => ({
      ...s,
      subGroups: s.subGroups.map((m) => ({ ...m, priority: priorities[names.get(m.groupId) ?? ''] ?? 1 })),
      ...(aliases[s.name] ? { modelAliases: aliases[s.name] } : {}),
    })),
  });
  gw = g;
  return { fake: fake as FakeUpstream, gw: g };
}

describe('tiered aggregates', { timeout: 20_000 }, () => {
  async function tiered() {
    fake = await startFakeUpstream();
    return setup(
      [
        { name: 'free', upstreams: [fake.url], keys: FREE, proxyKeys: [], config: { maxRetries: 3 } },
        { name: 'paid', upstreams: [fake.url], keys: PAID, proxyKeys: [] },
        {
          name: 'agg',
          type: 'aggregate',
          subGroups: [
            { group: 'paid', weight: 10 },
            { group: 'free', weight: 1 },
          ],
        },
      ],
      { free: 1, paid: 2 },
    );
  }

  it('sends everything to tier 1 while it has a usable key, whatever the weights', async () => {
    const { fake, gw } = await tiered();
    for (let i = 0; i < 10; i++)
      expect((await postJson(`${gw.base('agg')}/v1/chat/completions`, chatBody())).status).toBe(200);
    expect(fake.requests.every((r) => FREE.includes(r.key ?? ''))).toBe(true);
  });

  it('hands a request to tier 2 when tier 1 fails, keeps it there while tier 1 cools, and logs the tier', async () => {
    const { fake, gw } = await tiered();
    for (const k of FREE) fake.setKeyBehaviour(k, { status: 429, headers: { 'retry-after': '30' } });
    const res = await postJson(`${gw.base('agg')}/v1/chat/completions`, chatBody());
    expect(res.status).toBe(200);
    expect(fake.requests.at(-1)?.key).toBe(PAID[0]);
    const [record] = await gw.waitForRecords(1);
    expect(record).toMatchObject({ parentGroupName: 'agg', groupName: 'paid', statusCode: 200 });
    expect(record?.attempts.map((a) => a.statusCode).at(-1)).toBe(200);
    expect(record?.attempts.some((a) => a.statusCode === 429)).toBe(true);

    const mark = fake.requests.length;
    for (let i = 0; i < 3; i++)
      expect((await postJson(`${gw.base('agg')}/v1/chat/completions`, chatBody())).status).toBe(200);
    expect(fake.requests.slice(mark).map((r) => r.key)).toEqual([PAID[0], PAID[0], PAID[0]]);

    // Tier 1 usable again (an operator restored the keys): the next request is back on it.
    for (const k of FREE) fake.setKeyBehaviour(k, undefined);
    gw.restoreKeys();
    expect((await postJson(`${gw.base('agg')}/v1/chat/completions`, chatBody())).status).toBe(200);
    expect(FREE).toContain(fake.requests.at(-1)?.key);
  });
});

describe('model aliases', { timeout: 20_000 }, () => {
  const KEY = 'sk-test-alias-cccccccccccc0004';
  const rateLimit = (model: string) => ({
    model,
    status: 429,
    message: `Rate limit reached for ${model} in organization org-test on tokens per min (TPM): Limit 30000, Used 29999, Requested 900. Please try again in 20s.`,
    errorType: 'tokens',
    errorCode: 'rate_limit_exceeded',
  });

  it('tries the alias as each model in order, rewriting the body, and logs the alias and each model', async () => {
    fake = await startFakeUpstream();
    const { gw } = await setup(
      [{ name: 'g', upstreams: [fake.url], keys: [KEY], modelRedirects: { 'gpt-4o': 'gpt-4o-2024-11-20' } }],
      {},
      { g: { smart: ['gpt-4.1', 'gpt-4o'] } },
    );
    fake.setKeyBehaviour(KEY, rateLimit('gpt-4.1'));
    const res = await postJson(
      `${gw.base('g')}/v1/chat/completions`,
      chatBody({ model: 'smart', temperature: 0 }),
    );
    expect(res.status).toBe(200);
    const bodies = fake.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    // The second model after the group's redirect; the rest of the body as the client sent it.
    expect(bodies.map((b) => b.model)).toEqual(['gpt-4.1', 'gpt-4o-2024-11-20']);
    expect(bodies[1]).toMatchObject({ temperature: 0, messages: [{ role: 'user', content: 'hello there' }] });
    const [record] = await gw.waitForRecords(1);
    expect(record?.model).toBe('smart');
    expect(record?.attempts.map((a) => [a.model, a.statusCode])).toEqual([
      ['gpt-4.1', 429],
      ['gpt-4o-2024-11-20', 200],
    ]);
  });

  it('answers with the last model tried when every model of the alias is exhausted', async () => {
    fake = await startFakeUpstream();
    const { gw } = await setup(
      [{ name: 'g', upstreams: [fake.url], keys: [KEY] }],
      {},
      {
        g: { smart: ['m1', 'm2'] },
      },
    );
    fake.setKeyBehaviour(KEY, rateLimit('m1'));
    fake.setDefaultBehaviour(rateLimit('m2'));
    const res = await postJson(`${gw.base('g')}/v1/chat/completions`, chatBody({ model: 'smart' }));
    expect(res.status).toBe(429);
    expect(fake.requests.map((r) => (JSON.parse(r.body) as { model: string }).model)).toEqual(['m1', 'm2']);
  });

  it('names the model tried in a Gemini path, and keeps the query', async () => {
    fake = await startFakeUpstream();
    const gemKey = 'AIza-test-alias-eeeeeeeeeeee0006';
    const { gw } = await setup(
      [{ name: 'gem', channel: 'gemini', upstreams: [fake.url], keys: [gemKey] }],
      {},
      { gem: { smart: ['gemini-2.5-pro', 'gemini-2.5-flash'] } },
    );
    fake.setKeyBehaviour(gemKey, { model: 'gemini-2.5-pro', status: 503, message: 'Service Unavailable' });
    const res = await send(`${gw.base('gem')}/v1beta/models/smart:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    expect(res.status).toBe(200);
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/v1beta/models/gemini-2.5-pro:streamGenerateContent',
      '/v1beta/models/gemini-2.5-flash:streamGenerateContent',
    ]);
    expect(fake.requests.at(-1)?.query.get('alt')).toBe('sse');
  });

  it('a key-routed request for an alias reaches the group that defines it', async () => {
    fake = await startFakeUpstream();
    const { gw } = await setup(
      [
        { name: 'other', upstreams: [fake.url], keys: ['sk-test-other-dddddddd0005'], models: ['claude-*'] },
        { name: 'g', upstreams: [fake.url], keys: [KEY], models: ['gpt-*'] },
      ],
      {},
      { g: { smart: ['gpt-4.1'] } },
    );
    const res = await send(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${GLOBAL}`, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody({ model: 'smart' })),
    });
    expect(res.status).toBe(200);
    expect(fake.requests.map((r) => [r.key, (JSON.parse(r.body) as { model: string }).model])).toEqual([
      [KEY, 'gpt-4.1'],
    ]);
  });
});
