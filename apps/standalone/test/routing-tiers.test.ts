// Tiered fail-over and model aliases end to end (issue 15), through the official openai SDK against the built
// standalone process: an aggregate's tier-1 group whose keys are all rate-limited hands traffic to tier 2 and takes
// it back once they recover; an alias is served by its second model while the first is exhausted.
import type { RequestLog } from '@keyway/contracts';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'routing-tiers-admin-Key-3b7d1f5a9c2e';
const PROXY_KEY = 'routing-tiers-proxy-Key-6a0c4e8b2d1f';
const FREE_KEYS = ['sk-test-tier-free-one', 'sk-test-tier-free-two'];
const PAID_KEY = 'sk-test-tier-paid-one';
const ALIAS_KEY = 'sk-test-alias-key-one';

/** OpenAI's 429 for one model's token-per-minute limit (the error names the model: only that model cools). */
const modelRateLimit = {
  status: 429,
  message:
    'Rate limit reached for gpt-4.1 in organization org-testfixture on tokens per min (TPM): Limit 30000, Used ' +
    '29937, Requested 900. Please try again in 20s.',
  errorType: 'tokens',
  errorCode: 'rate_limit_exceeded',
};

describe('standalone × tiered fail-over and model aliases', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let admin: ReturnType<typeof adminClient>;

  async function group(body: Record<string, unknown>, keys: readonly string[]): Promise<number> {
    const created = await admin.post('/groups', {
      upstreams: [{ url: fake.url, weight: 1 }],
      proxyKeys: [PROXY_KEY],
      channel: 'openai',
      ...body,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as number;
    const added = await admin.post(`/groups/${id}/keys`, { keys: keys.join('\n') });
    expect(added.body).toMatchObject({ added: keys.length });
    return id;
  }

  /** The log records matching `where`, once at least `count` of them were written. */
  async function logged(count: number, where: (r: RequestLog) => boolean): Promise<RequestLog[]> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await admin.get('/logs?pageSize=200');
      const items = (res.body.items as RequestLog[]).filter(where);
      if (items.length >= count || Date.now() > deadline) return items;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('routing-tiers');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    admin = adminClient(app.url, AUTH_KEY);
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  beforeEach(() => fake.reset());

  it('a tier-1 group whose keys are all rate-limited hands traffic to tier 2 and takes it back', async () => {
    const free = await group({ name: 'tier-free', config: { maxRetries: 3 } }, FREE_KEYS);
    const paid = await group({ name: 'tier-paid' }, [PAID_KEY]);
    const agg = await admin.post('/groups', {
      name: 'tiered',
      type: 'aggregate',
      channel: 'openai',
      proxyKeys: [PROXY_KEY],
      // The paid group weighs more: only the tiers keep it out while the free one can serve.
      subGroups: [
        { groupId: paid, weight: 10, priority: 2 },
        { groupId: free, weight: 1, priority: 1 },
      ],
    });
    expect(agg.status, JSON.stringify(agg.body)).toBe(201);
    const client = new OpenAI({ apiKey: PROXY_KEY, baseURL: `${app.url}/proxy/tiered/v1`, maxRetries: 0 });
    const ask = () =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
    const keysSince = (mark: number) => fake.requests.slice(mark).map((r) => r.key);

    for (let i = 0; i < 4; i++) await ask();
    expect(keysSince(0).every((k) => FREE_KEYS.includes(k ?? ''))).toBe(true);

    // Every free key rate-limited: the same request is served by tier 2.
    for (const k of FREE_KEYS) fake.setKeyBehaviour(k, { status: 429, headers: { 'retry-after': '2' } });
    let mark = fake.requests.length;
    const spilled = await ask();
    expect(spilled.choices[0]?.message.content).toBeTruthy();
    expect(keysSince(mark).at(-1)).toBe(PAID_KEY);

    // While the free keys cool down, requests go straight to tier 2.
    mark = fake.requests.length;
    for (let i = 0; i < 3; i++) await ask();
    expect(keysSince(mark)).toEqual([PAID_KEY, PAID_KEY, PAID_KEY]);

    // The free keys recover: traffic returns to tier 1.
    for (const k of FREE_KEYS) fake.setKeyBehaviour(k, undefined);
    const deadline = Date.now() + 20_000;
    let back = false;
    while (!back && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      mark = fake.requests.length;
      await ask();
      back = FREE_KEYS.includes(keysSince(mark).at(-1) ?? '');
    }
    expect(back).toBe(true);
    mark = fake.requests.length;
    for (let i = 0; i < 4; i++) await ask();
    expect(keysSince(mark).every((k) => FREE_KEYS.includes(k ?? ''))).toBe(true);

    // The log names the tier that served: the member group under the aggregate.
    const records = await logged(10, (r) => r.parentGroupName === 'tiered');
    const byPaid = records.filter((r) => r.groupName === 'tier-paid');
    expect(byPaid.length).toBeGreaterThanOrEqual(4);
    expect(byPaid.every((r) => r.statusCode === 200)).toBe(true);
    const handover = byPaid.find((r) => r.attempts.length > 1);
    expect(handover?.attempts.map((a) => a.statusCode).at(-1)).toBe(200);
    expect(handover?.attempts.some((a) => a.statusCode === 429)).toBe(true);
    expect(records.some((r) => r.groupName === 'tier-free' && r.success)).toBe(true);
  }, 60_000);

  it('an alias is served by its second model while the first is exhausted; the log names both', async () => {
    await group({ name: 'aliased', modelAliases: { smart: ['gpt-4.1', 'gpt-4o'] } }, [ALIAS_KEY]);
    fake.setKeyBehaviour(ALIAS_KEY, { ...modelRateLimit, model: 'gpt-4.1' });
    const client = new OpenAI({ apiKey: PROXY_KEY, baseURL: `${app.url}/proxy/aliased/v1`, maxRetries: 0 });

    const res = await client.chat.completions.create({
      model: 'smart',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(res.choices[0]?.message.content).toBeTruthy();
    const sentModels = fake.requests.map((r) => (JSON.parse(r.body) as { model: string }).model);
    expect(sentModels).toEqual(['gpt-4.1', 'gpt-4o']);

    // The first model cools for this key: the next request goes to the second at once.
    await client.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'Again' }] });
    expect(JSON.parse(fake.requests.at(-1)?.body ?? '{}')).toMatchObject({ model: 'gpt-4o' });
    expect(fake.requests).toHaveLength(3);

    // A model named directly is not an alias: it is sent as named.
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(JSON.parse(fake.requests.at(-1)?.body ?? '{}')).toMatchObject({ model: 'gpt-4o-mini' });

    const records = await logged(3, (r) => r.groupName === 'aliased');
    const first = records.find((r) => r.attempts.length === 2);
    expect(first).toMatchObject({ model: 'smart', statusCode: 200 });
    expect(first?.attempts.map((a) => [a.model, a.statusCode])).toEqual([
      ['gpt-4.1', 429],
      ['gpt-4o', 200],
    ]);
  }, 30_000);
});
