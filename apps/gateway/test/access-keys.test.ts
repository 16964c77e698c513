import type { AccessKeySnapshot, Channel, ConfigSnapshot } from '@keyway/contracts';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, accessKeySnapshot, send, startGateway } from './harness';
import type { SimpleResponse, TestGateway } from './harness';

/** The counters' and the expiry check's clock: tests move it instead of waiting for real minutes. */
const clock = { t: Date.parse('2026-12-05T12:00:00.000Z'), now: () => clock.t };

const GLOBAL_KEY = 'kw-global-proxy-key-7a6b5c4d3e2f';
const SECRETS = {
  team: 'kw-ak-team-0123456789abcdef0123',
  off: 'kw-ak-off-0123456789abcdef01234',
  old: 'kw-ak-old-0123456789abcdef01234',
  other: 'kw-ak-other-0123456789abcdef012',
  minis: 'kw-ak-minis-0123456789abcdef012',
  budget: 'kw-ak-budget-0123456789abcdef01',
  rpm: 'kw-ak-rpm-0123456789abcdef012345',
  tpm: 'kw-ak-tpm-0123456789abcdef012345',
};

interface Dialect {
  channel: Channel;
  group: string;
  /** A model the price table and the `minis` key allow, one the `minis` key does not, one without a price. */
  allowed: string;
  denied: string;
  unpriced: string;
  request(model: string, secret: string): { path: string; headers: Record<string, string>; body: unknown };
  /** The error message and the dialect's shape check. */
  message(res: SimpleResponse): string;
}

const DIALECTS: Dialect[] = [
  {
    channel: 'openai',
    group: 'oa',
    allowed: 'gpt-4o-mini',
    denied: 'gpt-4.1',
    unpriced: 'my-finetune',
    request: (model, secret) => ({
      path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${secret}` },
      body: { model, messages: [{ role: 'user', content: 'hello there' }] },
    }),
    message(res) {
      const body = res.json<{ error: { message: string; type: string } }>();
      expect(typeof body.error.type).toBe('string');
      return body.error.message;
    },
  },
  {
    channel: 'anthropic',
    group: 'claude',
    allowed: 'claude-3-5-haiku-latest',
    denied: 'claude-opus-4-1',
    unpriced: 'claude-internal',
    request: (model, secret) => ({
      path: '/v1/messages',
      headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01' },
      body: { model, max_tokens: 16, messages: [{ role: 'user', content: 'hello there' }] },
    }),
    message(res) {
      const body = res.json<{ type: string; error: { type: string; message: string } }>();
      expect(body.type).toBe('error');
      return body.error.message;
    },
  },
  {
    channel: 'gemini',
    group: 'gem',
    allowed: 'gemini-2.0-flash',
    denied: 'gemini-2.5-pro',
    unpriced: 'gemini-experimental',
    request: (model, secret) => ({
      path: `/v1beta/models/${model}:generateContent`,
      headers: { 'x-goog-api-key': secret },
      body: { contents: [{ role: 'user', parts: [{ text: 'hello there' }] }] },
    }),
    message(res) {
      const body = res.json<{ error: { code: number; status: string; message: string } }>();
      expect(body.error.code).toBe(res.status);
      expect(typeof body.error.status).toBe('string');
      return body.error.message;
    },
  },
];

const GROUP_IDS = { oa: 1, claude: 2, gem: 3, elsewhere: 4 };

const ACCESS_KEYS: AccessKeySnapshot[] = [
  accessKeySnapshot(1, 'team-a', SECRETS.team),
  accessKeySnapshot(2, 'switched-off', SECRETS.off, { enabled: false }),
  accessKeySnapshot(3, 'last-year', SECRETS.old, { expiresAt: '2026-01-01T00:00:00.000Z' }),
  accessKeySnapshot(4, 'elsewhere-only', SECRETS.other, { groups: [GROUP_IDS.elsewhere] }),
  accessKeySnapshot(5, 'minis', SECRETS.minis, {
    models: ['gpt-4o-mini*', 'claude-3-5-haiku*', 'gemini-2.0-flash*'],
  }),
  accessKeySnapshot(6, 'budgeted', SECRETS.budget, { limits: { costUsdPerDay: 5 } }),
];

const PRICES: ConfigSnapshot['prices'] = [
  { model: 'gpt-4o-mini', inputPerMTok: 0.15, outputPerMTok: 0.6, cachedInputPerMTok: 0.075 },
  { model: 'claude-3-5-haiku', inputPerMTok: 0.8, outputPerMTok: 4, cachedInputPerMTok: 0.08 },
  { model: 'gemini-2.0-flash', inputPerMTok: 0.1, outputPerMTok: 0.4, cachedInputPerMTok: 0.025 },
];

describe('access keys on /proxy/{group}', { timeout: 30_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [
        { name: 'oa', channel: 'openai', upstreams: [fake.url], keys: ['sk-ak-openai-aaaaaaaaaaaa0001'] },
        {
          name: 'claude',
          channel: 'anthropic',
          upstreams: [fake.url],
          keys: ['sk-ant-ak-bbbbbbbbbbbbbbb0002'],
        },
        {
          name: 'gem',
          channel: 'gemini',
          upstreams: [fake.url],
          keys: ['AIzaAkGeminiCCCCCCCCCCCCCCCCC0003'],
        },
        {
          name: 'elsewhere',
          channel: 'openai',
          upstreams: [fake.url],
          keys: ['sk-ak-else-dddddddddddd0004'],
        },
      ],
      globalProxyKeys: [GLOBAL_KEY],
      accessKeys: ACCESS_KEYS,
      prices: PRICES,
      clock,
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    gw.records.length = 0;
  });

  async function call(d: Dialect, model: string, secret: string, group = d.group): Promise<SimpleResponse> {
    const r = d.request(model, secret);
    return send(`${gw.base(group)}${r.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...r.headers },
      body: JSON.stringify(r.body),
    });
  }

  /** The one record of a refused request: logged with the key's name, no attempt, nothing sent upstream. */
  async function refusedRecord(status: number, name: string | null): Promise<void> {
    const [record] = await gw.waitForRecords(1);
    expect(record?.statusCode).toBe(status);
    expect(record?.attempts).toEqual([]);
    expect(record?.keyId).toBeNull();
    expect(record?.accessKeyName).toBe(name);
    expect(fake.requests).toHaveLength(0);
  }

  describe.each(DIALECTS)('$channel dialect', (d) => {
    it('serves an access key in scope and logs who called', async () => {
      const res = await call(d, d.allowed, SECRETS.team);
      expect(res.status).toBe(200);
      const [record] = await gw.waitForRecords(1);
      expect(record).toMatchObject({ accessKeyId: 1, accessKeyName: 'team-a', statusCode: 200 });
      // The upstream gets a pooled key, never the access key.
      expect(fake.requests[0]?.key).not.toBe(SECRETS.team);
    });

    it('answers 401 for an unknown secret', async () => {
      const res = await call(d, d.allowed, 'kw-ak-not-a-key-at-all-000000000');
      expect(res.status).toBe(401);
      expect(d.message(res)).toBe('Invalid proxy key');
      await refusedRecord(401, null);
    });

    it('answers 401 naming a disabled key', async () => {
      const res = await call(d, d.allowed, SECRETS.off);
      expect(res.status).toBe(401);
      expect(d.message(res)).toBe("Access key 'switched-off' is disabled");
      await refusedRecord(401, 'switched-off');
    });

    it('answers 401 naming an expired key and when it expired', async () => {
      const res = await call(d, d.allowed, SECRETS.old);
      expect(res.status).toBe(401);
      expect(d.message(res)).toBe("Access key 'last-year' expired at 2026-01-01T00:00:00.000Z");
      await refusedRecord(401, 'last-year');
    });

    it('answers 403 naming the group when the key is scoped to other groups', async () => {
      const res = await call(d, d.allowed, SECRETS.other);
      expect(res.status).toBe(403);
      expect(d.message(res)).toBe(`Access key 'elsewhere-only' may not use group '${d.group}'`);
      await refusedRecord(403, 'elsewhere-only');
    });

    it('matches the model the client named against the key’s globs', async () => {
      expect((await call(d, `${d.allowed}-2025-01-01`, SECRETS.minis)).status).toBe(200);
      fake.reset();
      gw.records.length = 0;
      const res = await call(d, d.denied, SECRETS.minis);
      expect(res.status).toBe(403);
      expect(d.message(res)).toBe(`Access key 'minis' may not use model '${d.denied}'`);
      await refusedRecord(403, 'minis');
    });

    it('refuses an unpriced model to a key with a USD limit, saying to add a price', async () => {
      const res = await call(d, d.unpriced, SECRETS.budget);
      expect(res.status).toBe(403);
      expect(d.message(res)).toBe(
        `Model '${d.unpriced}' has no price, and access key 'budgeted' has a USD limit: add a price for '${d.unpriced}' to use it`,
      );
      await refusedRecord(403, 'budgeted');
      // A priced model (by prefix) is served; the key without a USD limit may use the unpriced one.
      expect((await call(d, `${d.allowed}-001`, SECRETS.budget)).status).toBe(200);
      expect((await call(d, d.unpriced, SECRETS.team)).status).toBe(200);
    });

    it('answers 429 with Retry-After and the key’s own x-ratelimit headers at the rpm limit', async () => {
      const id = 100 + DIALECTS.indexOf(d);
      const name = `rpm-${d.channel}`;
      gw.reconfigure({
        ...gw.snapshot,
        version: gw.snapshot.version + 1,
        accessKeys: [...ACCESS_KEYS, accessKeySnapshot(id, name, SECRETS.rpm, { limits: { rpm: 2 } })],
      });
      const first = await call(d, d.allowed, SECRETS.rpm);
      expect(first.status).toBe(200);
      expect(first.headers['x-ratelimit-limit-requests']).toBe('2');
      expect(first.headers['x-ratelimit-remaining-requests']).toBe('1');
      expect(first.headers['x-ratelimit-reset-requests']).toBe('1m0s');
      clock.t += 15_000;
      const second = await call(d, d.allowed, SECRETS.rpm);
      expect(second.headers['x-ratelimit-remaining-requests']).toBe('0');
      fake.reset();
      gw.records.length = 0;
      const third = await call(d, d.allowed, SECRETS.rpm);
      expect(third.status).toBe(429);
      // The first request leaves the trailing minute 45 s from now.
      expect(third.headers['retry-after']).toBe('45');
      expect(third.headers['x-ratelimit-remaining-requests']).toBe('0');
      expect(d.message(third)).toBe(
        `Access key '${name}' reached its rpm limit (2 requests per minute): retry in 45s`,
      );
      await refusedRecord(429, name);
      // Refused requests do not count: once the first request leaves the window, exactly one more fits.
      clock.t += 45_000;
      expect((await call(d, d.allowed, SECRETS.rpm)).status).toBe(200);
      expect((await call(d, d.allowed, SECRETS.rpm)).status).toBe(429);
      clock.t += 60_000;
    });
  });

  it('keeps bare proxy keys working unchanged, global and per group', async () => {
    const oa = DIALECTS[0] as Dialect;
    const group = await call(oa, 'any-model', PROXY_KEY);
    expect(group.status).toBe(200);
    expect(group.headers['x-ratelimit-limit-requests']).toBeUndefined();
    expect((await call(oa, 'any-model', GLOBAL_KEY, 'elsewhere')).status).toBe(200);
    const records = await gw.waitForRecords(2);
    expect(records.map((r) => r.accessKeyId)).toEqual([null, null]);
  });

  it('replaces the upstream’s x-ratelimit headers for access keys, and relays them to bare proxy keys', async () => {
    const oa = DIALECTS[0] as Dialect;
    const upstreamLimits = {
      'x-ratelimit-limit-requests': '5000',
      'x-ratelimit-remaining-requests': '4999',
      'x-ratelimit-limit-tokens': '2000000',
    };
    fake.setDefaultBehaviour({ headers: upstreamLimits });
    gw.reconfigure({
      ...gw.snapshot,
      version: gw.snapshot.version + 1,
      accessKeys: [...ACCESS_KEYS, accessKeySnapshot(500, 'limited', SECRETS.rpm, { limits: { rpm: 100 } })],
    });
    const proxy = await call(oa, oa.allowed, PROXY_KEY);
    expect(proxy.headers).toMatchObject(upstreamLimits);
    const limited = await call(oa, oa.allowed, SECRETS.rpm);
    expect(limited.status).toBe(200);
    expect(limited.headers['x-ratelimit-limit-requests']).toBe('100');
    expect(limited.headers['x-ratelimit-remaining-requests']).toBe('99');
    // The pooled key's token figures describe someone else's account: gone, not mixed in.
    expect(limited.headers['x-ratelimit-limit-tokens']).toBeUndefined();
    const unlimited = await call(oa, oa.allowed, SECRETS.team);
    expect(unlimited.headers['x-ratelimit-limit-requests']).toBeUndefined();
    expect(unlimited.headers['x-ratelimit-limit-tokens']).toBeUndefined();
    clock.t += 60_000;
  });

  it('describes the key on a model list the gateway rewrote, too', async () => {
    const before = gw.snapshot;
    gw.reconfigure({
      ...before,
      version: before.version + 1,
      groups: before.groups.map((g) =>
        g.name === 'oa' ? { ...g, modelRedirects: { smart: 'gpt-4o-mini' } } : g,
      ),
      accessKeys: [...ACCESS_KEYS, accessKeySnapshot(600, 'lister', SECRETS.rpm, { limits: { rpm: 100 } })],
    });
    try {
      const res = await send(`${gw.base('oa')}/v1/models`, {
        headers: { authorization: `Bearer ${SECRETS.rpm}` },
      });
      expect(res.status).toBe(200);
      expect(res.json<{ data: Array<{ id: string }> }>().data.map((m) => m.id)).toContain('smart');
      expect(res.headers['x-ratelimit-limit-requests']).toBe('100');
      expect(res.headers['x-ratelimit-remaining-requests']).toBe('99');
    } finally {
      gw.reconfigure({ ...before, version: before.version + 2 });
      clock.t += 60_000;
    }
  });

  it('refuses a disabled key at the next request after a reload (no cached acceptance)', async () => {
    const oa = DIALECTS[0] as Dialect;
    expect((await call(oa, oa.allowed, SECRETS.team)).status).toBe(200);
    const before = gw.snapshot;
    gw.reconfigure({
      ...before,
      version: before.version + 1,
      accessKeys: ACCESS_KEYS.map((k) => (k.id === 1 ? { ...k, enabled: false } : k)),
    });
    try {
      const res = await call(oa, oa.allowed, SECRETS.team);
      expect(res.status).toBe(401);
      expect(oa.message(res)).toBe("Access key 'team-a' is disabled");
    } finally {
      gw.reconfigure({ ...before, version: before.version + 2 });
    }
  });

  it('counts a response’s tokens against tpm and refuses once the key is over it', async () => {
    const oa = DIALECTS[0] as Dialect;
    gw.reconfigure({
      ...gw.snapshot,
      version: gw.snapshot.version + 1,
      accessKeys: [...ACCESS_KEYS, accessKeySnapshot(200, 'tokens', SECRETS.tpm, { limits: { tpm: 5 } })],
    });
    const first = await call(oa, oa.allowed, SECRETS.tpm);
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-limit-tokens']).toBe('5');
    expect(first.headers['x-ratelimit-remaining-tokens']).toBe('5');
    const [record] = await gw.waitForRecords(1);
    const tokens = (record?.promptTokens ?? 0) + (record?.completionTokens ?? 0);
    expect(tokens).toBeGreaterThanOrEqual(5);
    const second = await call(oa, oa.allowed, SECRETS.tpm);
    expect(second.status).toBe(429);
    expect(second.headers['x-ratelimit-remaining-tokens']).toBe('0');
    expect(oa.message(second)).toMatch(
      /^Access key 'tokens' reached its tpm limit \(5 tokens per minute\): retry in /,
    );
    clock.t += 60_000;
    expect((await call(oa, oa.allowed, SECRETS.tpm)).status).toBe(200);
    clock.t += 60_000;
  });

  it('charges cost to a USD budget and refuses once it is spent, whatever requestLogging says', async () => {
    const oa = DIALECTS[0] as Dialect;
    const before = gw.snapshot;
    gw.reconfigure({
      ...before,
      version: before.version + 1,
      settings: { ...before.settings, requestLogging: 'off' },
      accessKeys: [
        ...ACCESS_KEYS,
        accessKeySnapshot(250, 'pennies', SECRETS.tpm, { limits: { costUsdPerDay: 0.000001 } }),
      ],
    });
    try {
      gw.completed.length = 0;
      expect((await call(oa, oa.allowed, SECRETS.tpm)).status).toBe(200);
      await gw.waitForCompleted(1);
      const res = await call(oa, oa.allowed, SECRETS.tpm);
      expect(res.status).toBe(429);
      expect(oa.message(res)).toMatch(
        /^Access key 'pennies' reached its costUsdPerDay limit \(\$0\.000001 per day\): it resets at 00:00 UTC, in \d+h\d+m[\d.]+s$/,
      );
      // The day's budget frees at the next 00:00 UTC of the test clock.
      const untilMidnight = Math.ceil((86_400_000 - (clock.t % 86_400_000)) / 1000);
      expect(res.headers['retry-after']).toBe(String(untilMidnight));
      expect(gw.records).toHaveLength(0);
    } finally {
      gw.reconfigure({ ...before, version: before.version + 2 });
    }
  });

  it('lets the openai SDK surface a 429’s message naming the key and the limit', async () => {
    gw.reconfigure({
      ...gw.snapshot,
      version: gw.snapshot.version + 1,
      accessKeys: [...ACCESS_KEYS, accessKeySnapshot(300, 'sdk-user', SECRETS.rpm, { limits: { rpm: 1 } })],
    });
    const client = new OpenAI({ apiKey: SECRETS.rpm, baseURL: `${gw.base('oa')}/v1`, maxRetries: 0 });
    const ok = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(ok.choices[0]?.message.content).toBeTruthy();
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).message).toContain(
      "Access key 'sdk-user' reached its rpm limit (1 requests per minute): retry in 1m0s",
    );
    clock.t += 60_000;
  });

  it('does not admit (or count) a request whose body is too large', async () => {
    const oa = DIALECTS[0] as Dialect;
    gw.reconfigure({
      ...gw.snapshot,
      version: gw.snapshot.version + 1,
      groups: gw.snapshot.groups.map((g) =>
        g.name === 'oa' ? { ...g, config: { ...g.config, maxRequestBodyMb: 1 } } : g,
      ),
      accessKeys: [...ACCESS_KEYS, accessKeySnapshot(400, 'uploader', SECRETS.rpm, { limits: { rpm: 1 } })],
    });
    const big = await send(`${gw.base('oa')}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.rpm}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', pad: 'x'.repeat(1024 * 1024 + 10) }),
    });
    expect(big.status).toBe(413);
    const res = await call(oa, oa.allowed, SECRETS.rpm);
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-remaining-requests']).toBe('0');
    clock.t += 60_000;
  });
});
