// The smarter pool end to end (issue 14), through the official SDKs against the built standalone process: a
// Gemini quota on one model cools the key for that model only, a conversation stays on one key and moves when
// that key is disabled, and upstream-key pacing answers 503 with Retry-After without calling the upstream.
import { ApiError, GoogleGenAI } from '@google/genai';
import type { Key } from '@keyway/contracts';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminClient, startStandalone, tempDir } from './harness';

const AUTH_KEY = 'smarter-pool-admin-Key-5e1b9d3f7a2c';
const PROXY_KEY = 'smarter-pool-proxy-Key-8c2e4a6b0d1f';
const GEMINI_KEY = 'AIzaSmarterPoolFakeUpstreamKeyAAAA0001';
const OPENAI_KEYS = ['sk-test-affinity-key-one', 'sk-test-affinity-key-two', 'sk-test-affinity-key-three'];
const PACED_KEYS = ['sk-test-paced-key-one', 'sk-test-paced-key-two'];

/**
 * Gemini's answer when a per-model daily free-tier quota is used up, as the Gemini API sends it (shape from
 * https://ai.google.dev/gemini-api/docs/troubleshooting and the google.rpc.QuotaFailure error details).
 */
function geminiDailyQuotaBody(model: string): unknown {
  return {
    error: {
      code: 429,
      message: `You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 50, model: ${model}`,
      status: 'RESOURCE_EXHAUSTED',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [
            {
              quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
              quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
              quotaDimensions: { location: 'global', model },
              quotaValue: '50',
            },
          ],
        },
        {
          '@type': 'type.googleapis.com/google.rpc.Help',
          links: [
            {
              description: 'Learn more about Gemini API quotas',
              url: 'https://ai.google.dev/gemini-api/docs/rate-limits',
            },
          ],
        },
      ],
    },
  };
}

describe('standalone × the smarter pool', () => {
  let fake: FakeUpstream;
  let app: { proc: ManagedProcess; url: string };
  let tmp: ReturnType<typeof tempDir>;
  let admin: ReturnType<typeof adminClient>;

  async function group(body: Record<string, unknown>, keys: readonly string[]): Promise<number> {
    const created = await admin.post('/groups', {
      upstreams: [{ url: fake.url, weight: 1 }],
      proxyKeys: [PROXY_KEY],
      ...body,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as number;
    const added = await admin.post(`/groups/${id}/keys`, { keys: keys.join('\n') });
    expect(added.body).toMatchObject({ added: keys.length });
    return id;
  }

  async function keysOf(groupId: number): Promise<Key[]> {
    const res = await admin.get(`/groups/${groupId}/keys?pageSize=100`);
    expect(res.status).toBe(200);
    return res.body.items as Key[];
  }

  beforeAll(async () => {
    fake = await startFakeUpstream();
    tmp = tempDir('smarter-pool');
    app = await startStandalone(tmp.dir, { AUTH_KEY });
    admin = adminClient(app.url, AUTH_KEY);
  }, 60_000);

  afterAll(async () => {
    await app?.proc.stop();
    await fake?.close();
    tmp?.cleanup();
  });

  beforeEach(() => fake.reset());

  it('a daily quota on one Gemini model cools the key for that model only; it keeps serving another', async () => {
    const id = await group({ name: 'gemini-free', channel: 'gemini', config: { maxRetries: 2 } }, [
      GEMINI_KEY,
    ]);
    fake.setKeyBehaviour(GEMINI_KEY, {
      model: 'gemini-2.5-pro',
      status: 429,
      body: geminiDailyQuotaBody('gemini-2.5-pro'),
    });
    const ai = new GoogleGenAI({
      apiKey: PROXY_KEY,
      httpOptions: { baseUrl: `${app.url}/proxy/gemini-free`, timeout: 15_000 },
    });

    // The quota error reaches the caller as the provider's own 429 (nothing else could serve it).
    const err = await ai.models.generateContent({ model: 'gemini-2.5-pro', contents: 'Hello' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    expect(fake.requests).toHaveLength(1);

    // The same key answers another model, at once.
    const flash = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hello' });
    expect(flash.text).toBe('Hello from fake upstream');
    expect(fake.requests.at(-1)?.key).toBe(GEMINI_KEY);

    // The key is active, cooling for gemini-2.5-pro only — until the next midnight, Pacific time.
    const [key] = await keysOf(id);
    expect(key?.status).toBe('active');
    expect(key?.modelCooling.map((c) => c.model)).toEqual(['gemini-2.5-pro']);
    const until = Date.parse(key?.modelCooling[0]?.until ?? '');
    expect(until).toBeGreaterThan(Date.now());
    expect(until - Date.now()).toBeLessThanOrEqual(25 * 3600_000);
    const pacific = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/Los_Angeles',
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
    }).format(until);
    expect(pacific).toBe('00:00');

    // Asking for the cooled model again is answered without calling the upstream: 503 with Retry-After.
    const before = fake.requests.length;
    const res = await fetch(`${app.url}/proxy/gemini-free/v1beta/models/gemini-2.5-pro:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hello' }] }] }),
    });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(60);
    expect(((await res.json()) as { error: { status: string } }).error.status).toBe('UNAVAILABLE');
    expect(fake.requests.length).toBe(before);
  });

  it('affinity keeps a 20-turn conversation on one key, and moves it at once when that key is disabled', async () => {
    const id = await group(
      {
        name: 'chat-affinity',
        channel: 'openai',
        affinity: { mode: 'session', header: 'x-session-id', ttlSeconds: 600 },
      },
      OPENAI_KEYS,
    );
    const client = new OpenAI({ apiKey: PROXY_KEY, baseURL: `${app.url}/proxy/chat-affinity/v1` });
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You are a careful assistant.' },
      { role: 'user', content: 'Plan a trip to Lisbon.' },
    ];
    const turn = async (): Promise<string | undefined> => {
      const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
      messages.push(res.choices[0]!.message, { role: 'user', content: `And day ${messages.length}?` });
      return fake.requests.at(-1)?.key;
    };
    // Another conversation in between does not disturb it (and rotates the pool as usual).
    const other = async () =>
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `unrelated ${Math.random()}` }],
      });

    const served: Array<string | undefined> = [];
    for (let i = 0; i < 20; i++) {
      served.push(await turn());
      if (i % 5 === 0) await other();
    }
    expect(new Set(served).size).toBe(1);
    const sticky = served[0] as string;
    expect(OPENAI_KEYS).toContain(sticky);

    // Disable the session's key: the very next turn goes elsewhere, and the conversation stays there.
    const found = await admin.get(`/groups/${id}/keys?search=${encodeURIComponent(sticky)}`);
    const stickyId = (found.body.items as Key[])[0]?.id;
    expect(stickyId).toBeDefined();
    const patched = await admin.patch(`/keys/${stickyId}`, { status: 'disabled' });
    expect(patched.status).toBe(200);
    const after: Array<string | undefined> = [];
    for (let i = 0; i < 5; i++) after.push(await turn());
    expect(after).not.toContain(sticky);
    expect(new Set(after).size).toBe(1);

    // prompt_cache_key names the session explicitly: two requests with different text share a key.
    const byCacheKey: Array<string | undefined> = [];
    for (let i = 0; i < 6; i++) {
      await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `question ${i}` }],
        prompt_cache_key: 'tenant-42',
      } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
      byCacheKey.push(fake.requests.at(-1)?.key);
    }
    expect(new Set(byCacheKey).size).toBe(1);
  });

  it('keyLimits pace each upstream key: over the limit the gateway answers 503 with Retry-After, upstream untouched', async () => {
    const id = await group(
      { name: 'paced', channel: 'openai', keyLimits: { default: { rpm: 2 } } },
      PACED_KEYS,
    );
    const call = () =>
      fetch(`${app.url}/proxy/paced/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
    for (let i = 0; i < 4; i++) {
      const res = await call();
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(fake.requests).toHaveLength(4);
    const refused = await call();
    expect(refused.status).toBe(503);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await refused.text()).toMatch(/rate limit/i);
    expect(fake.requests).toHaveLength(4);
    // Another model has its own per-model window (`default` applies to each model separately).
    const other = await fetch(`${app.url}/proxy/paced/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(other.status).toBe(200);

    const keys = await keysOf(id);
    expect(keys.map((k) => k.usage?.rpmNow).sort()).toEqual([2, 3]);
  });
});
