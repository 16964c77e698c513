import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { send, sendRaw, startGateway } from './harness';
import { scopedAccessKey } from './key-routes-fixtures';
import type { TestGateway } from './harness';

const GLOBAL = 'kw-global-key-routes-1a2b3c4d5e6f';
const OTHER_GROUP_KEY = 'kw-group-key-routes-other-9f8e7d';
const TEAM = 'kw-ak-key-routes-team-0123456789ab';
const ONE = 'kw-ak-key-routes-one-0123456789abc';
const MAIN_KEY = 'sk-key-routes-main-0001-abcdefgh';
const OTHER_KEY = 'sk-key-routes-other-0001-abcdefg';
const GEMINI_KEY = 'AIzaKeyRoutesGemini0001abcdefghijklmnopq';
const O3_ONLY = 'kw-ak-key-routes-o3-0123456789abcd';

/** Group ids follow the order of the groups below (the harness numbers them from 1). */
const IDS = { empty: 1, main: 2, other: 3 };

describe('key-routed endpoints (/v1, /v1beta at the root)', { timeout: 30_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  let host: string;

  beforeAll(async () => {
    fake = await startFakeUpstream({ openaiModels: ['gpt-4o', 'gpt-4o-mini', 'o3', 'davinci-002'] });
    gw = await startGateway({
      groups: [
        // No upstream key at all: a candidate a request must move past.
        { name: 'oa-empty', upstreams: [fake.url], keys: [], models: ['gpt-4o*'] },
        { name: 'oa-main', upstreams: [fake.url], keys: [MAIN_KEY], models: ['gpt-4o*', 'o3'] },
        { name: 'oa-other', upstreams: [fake.url], keys: [OTHER_KEY], proxyKeys: [OTHER_GROUP_KEY] },
        {
          name: 'claude',
          channel: 'anthropic',
          upstreams: [fake.url],
          keys: ['sk-ant-key-routes-0001-abcd'],
        },
        { name: 'gem', channel: 'gemini', upstreams: [fake.url], keys: [GEMINI_KEY] },
      ],
      globalProxyKeys: [GLOBAL],
      accessKeys: [
        scopedAccessKey(1, 'team', TEAM, [IDS.empty, IDS.main]),
        scopedAccessKey(2, 'one-group', ONE, [IDS.other]),
        { ...scopedAccessKey(3, 'o3-only', O3_ONLY, [IDS.main, IDS.other]), models: ['o3'] },
      ],
    });
    host = new URL(gw.url).host;
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    gw.records.length = 0;
  });

  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    send(`${gw.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const chat = (secret: string, model: string) =>
    post(
      '/v1/chat/completions',
      { model, messages: [{ role: 'user', content: 'hi' }] },
      {
        authorization: `Bearer ${secret}`,
      },
    );
  const lastRecord = async () => (await gw.waitForRecords(1)).at(-1);

  it('serves from the first candidate with a usable key, and the record names that group and the access key', async () => {
    const res = await chat(TEAM, 'gpt-4o');
    expect(res.status).toBe(200);
    expect(fake.requests.map((r) => r.key)).toEqual([MAIN_KEY]);
    expect(await lastRecord()).toMatchObject({
      groupName: 'oa-main',
      accessKeyName: 'team',
      statusCode: 200,
      requestPath: '/v1/chat/completions',
    });
  });

  it('moves to the next candidate after a retryable upstream failure', async () => {
    fake.setKeyBehaviour(MAIN_KEY, { status: 500, times: 1 });
    const res = await chat(GLOBAL, 'gpt-4o');
    expect(res.status).toBe(200);
    expect(fake.requests.map((r) => r.key)).toEqual([MAIN_KEY, OTHER_KEY]);
    const record = await lastRecord();
    expect(record).toMatchObject({ groupName: 'oa-other', statusCode: 200, accessKeyId: null });
    expect(record?.attempts).toHaveLength(2);
  });

  it('keeps only the groups whose models globs match: a global proxy key reaches the group that serves the model', async () => {
    const res = await chat(GLOBAL, 'davinci-002');
    expect(res.status).toBe(200);
    expect(fake.requests.map((r) => r.key)).toEqual([OTHER_KEY]);
    expect(await lastRecord()).toMatchObject({ groupName: 'oa-other' });
  });

  it('answers 404 in the dialect, naming the model, when no candidate serves it (nothing sent upstream)', async () => {
    const res = await chat(TEAM, 'davinci-002');
    expect(res.status).toBe(404);
    expect(res.json<{ error: { message: string } }>().error.message).toContain("'davinci-002'");
    expect(fake.requests).toHaveLength(0);
  });

  it('an access key limited to one group never reaches another; a group proxy key only its own group', async () => {
    for (const secret of [ONE, OTHER_GROUP_KEY]) {
      fake.reset();
      const res = await chat(secret, 'gpt-4o');
      expect(res.status).toBe(200);
      expect(fake.requests.map((r) => r.key)).toEqual([OTHER_KEY]);
    }
    // No anthropic group in its scope: the Messages API has no candidate for it.
    const messages = await post(
      '/v1/messages',
      { model: 'claude-3-5-haiku-latest', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] },
      { 'x-api-key': ONE, 'anthropic-version': '2023-06-01' },
    );
    expect(messages.status).toBe(404);
    expect(messages.json<{ type: string }>().type).toBe('error');
    expect(fake.requests).toHaveLength(1);
  });

  it('refuses a model outside the access key’s globs with 403 naming the key, logged under the candidate', async () => {
    const res = await chat(O3_ONLY, 'gpt-4o');
    expect(res.status).toBe(403);
    expect(res.json<{ error: { message: string } }>().error.message).toContain("'o3-only'");
    expect(res.text).not.toContain(O3_ONLY);
    expect(fake.requests).toHaveLength(0);
    expect(await lastRecord()).toMatchObject({
      statusCode: 403,
      groupName: 'oa-main',
      accessKeyName: 'o3-only',
      attempts: [],
    });
  });

  it('lists the union of the models the key may use, each once, filtered by the groups’ globs', async () => {
    const list = async (secret: string) => {
      const res = await send(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
      expect(res.status).toBe(200);
      return res.json<{ object: string; data: Array<{ id: string }> }>().data.map((m) => m.id);
    };
    expect(await list(TEAM)).toEqual(['gpt-4o', 'gpt-4o-mini', 'o3']);
    expect(await list(GLOBAL)).toEqual(['gpt-4o', 'gpt-4o-mini', 'o3', 'davinci-002']);
    expect(await list(ONE)).toEqual(['gpt-4o', 'gpt-4o-mini', 'o3', 'davinci-002']);
    // The access key's own model globs narrow the union further.
    expect(await list(O3_ONLY)).toEqual(['o3']);
  });

  it('refuses a missing or unknown key with 401 in the path’s dialect, counted without the key', async () => {
    const none = await send(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    const wrong = await post(
      '/v1/messages',
      { model: 'claude-3-5-haiku-latest' },
      { 'x-api-key': 'kw-not-a-key-at-all-000000000000' },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.json<{ type: string; error: { type: string } }>().error.type).toBe('authentication_error');
    expect(wrong.text).not.toContain('kw-not-a-key');
    // Counted under the channel (no group is known), sampled in the log without the presented key.
    expect(gw.authFailures.slice(-2)).toEqual(['(key-routed openai)', '(key-routed anthropic)']);
    expect(JSON.stringify(gw.logs)).not.toContain('kw-not-a-key');
  });

  describe('attacks on the request target and the model name', () => {
    const raw = (target: string) =>
      sendRaw(
        gw.url,
        `POST ${target} HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${GLOBAL}\r\ncontent-type: application/json`,
        JSON.stringify({ model: 'gpt-4o', messages: [] }),
      );

    it('refuses dot segments (plain or percent-encoded) instead of reaching /proxy or another path', async () => {
      for (const target of [
        '/v1/../proxy/oa-main/v1/chat/completions',
        '/v1/%2e%2e/proxy/oa-main/v1/chat/completions',
        '/v1/chat/%2E%2E%2fcompletions',
        '/v1beta/..%2fv1/chat/completions',
      ]) {
        const res = await raw(target);
        expect(res.status, target).toBe(400);
        expect(res.text).toContain('cannot be forwarded');
      }
      expect(fake.requests).toHaveLength(0);
    });

    it('refuses an absolute-form target naming another host, and serves one naming this gateway', async () => {
      const foreign = await raw('http://evil.example/v1/chat/completions');
      expect(foreign.status).toBe(400);
      expect(fake.requests).toHaveLength(0);
      const own = await raw(`http://${host}/v1/chat/completions`);
      expect(own.status).toBe(200);
    });

    it('takes a Gemini-style ?key= as the caller’s key on /v1beta, and never passes it on or logs it', async () => {
      const res = await post(
        `/v1beta/models/gemini-2.5-flash:generateContent?key=${GLOBAL}&alt=json`,
        { contents: [{ parts: [{ text: 'hi' }] }] },
        {},
      );
      expect(res.status).toBe(200);
      const upstream = fake.requests[0];
      expect(upstream?.key).toBe(GEMINI_KEY);
      expect(upstream?.query.toString()).toBe('alt=json');
      const record = await lastRecord();
      expect(record).toMatchObject({ groupName: 'gem', model: 'gemini-2.5-flash' });
      expect(JSON.stringify(record)).not.toContain(GLOBAL);
    });

    it('answers a model name with CR/LF or 10 KB long as a plain 404 (escaped, cut short, no header injected)', async () => {
      for (const model of ['nope\r\nx-injected: yes', `x${'a'.repeat(10_240)}`]) {
        const res = await chat(TEAM, model);
        expect(res.status).toBe(404);
        expect(res.headers['x-injected']).toBeUndefined();
        expect(res.text.length).toBeLessThan(1024);
        expect(res.json<{ error: { message: string } }>().error.message).toMatch(
          /^No group .* serves model '/,
        );
      }
      expect(fake.requests).toHaveLength(0);
      // A glob's `*` matches what follows: such a name is the body's business, never a header's.
      const served = await chat(TEAM, 'gpt-4o\r\nx-injected: yes');
      expect(served.status).toBe(200);
      expect(served.headers['x-injected']).toBeUndefined();
      expect(fake.requests[0]?.headers['x-injected']).toBeUndefined();
    });
  });
});
