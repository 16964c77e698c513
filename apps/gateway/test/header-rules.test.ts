import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, RecordedRequest } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, postJson, send, startGateway } from './harness';
import type { GroupSpec, TestGateway } from './harness';

const KEY = 'sk-rules-aaaaaaaaaaaaaaaa0001';
const ANT_KEY = 'sk-ant-rules-bbbbbbbbbbbb0002';

const groups = (url: string): GroupSpec[] => [
  {
    name: 'vars',
    upstreams: [url],
    keys: [KEY],
    headerRules: [
      { action: 'set', key: 'X-Client-IP', value: '${CLIENT_IP}' },
      { action: 'set', key: 'X-Group', value: 'group=${GROUP_NAME};again=${GROUP_NAME}' },
      { action: 'set', key: 'X-Key-Echo', value: 'k:${API_KEY}' },
      { action: 'set', key: 'X-Ts-Ms', value: '${TIMESTAMP_MS}' },
      { action: 'set', key: 'X-Ts-S', value: '${TIMESTAMP_S}' },
      { action: 'set', key: 'X-Static', value: 'literal-value' },
      { action: 'remove', key: 'X-Drop-Me' },
    ],
  },
  {
    name: 'override-auth',
    upstreams: [url],
    keys: [KEY],
    headerRules: [{ action: 'set', key: 'Authorization', value: 'Bearer sk-rule-override-${GROUP_NAME}' }],
  },
  {
    name: 'remove-auth',
    upstreams: [url],
    keys: [KEY],
    config: { maxRetries: 0 },
    headerRules: [{ action: 'remove', key: 'authorization' }],
  },
  {
    // A real use: an Anthropic-compatible upstream that wants the key as a Bearer token.
    name: 'ant-bearer',
    channel: 'anthropic',
    upstreams: [url],
    keys: [ANT_KEY],
    headerRules: [
      { action: 'remove', key: 'x-api-key' },
      { action: 'set', key: 'authorization', value: 'Bearer ${API_KEY}' },
    ],
  },
];

function only(fake: FakeUpstream): RecordedRequest {
  expect(fake.requests).toHaveLength(1);
  return fake.requests[0] as RecordedRequest;
}

describe('header rules', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ groups: groups(fake.url) });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('substitutes ${CLIENT_IP}, ${GROUP_NAME}, ${API_KEY}, ${TIMESTAMP_MS} and ${TIMESTAMP_S}', async () => {
    const before = Date.now();
    const res = await postJson(`${gw.base('vars')}/v1/chat/completions`, chatBody());
    const after = Date.now();
    expect(res.status).toBe(200);
    const h = only(fake).headers;
    expect(h['x-client-ip']).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    expect(h['x-group']).toBe('group=vars;again=vars');
    expect(h['x-key-echo']).toBe(`k:${KEY}`);
    const ms = Number(h['x-ts-ms']);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
    const s = Number(h['x-ts-s']);
    expect(Number.isInteger(s)).toBe(true);
    expect(s).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(s).toBeLessThanOrEqual(Math.floor(after / 1000));
    expect(h['x-static']).toBe('literal-value');
  });

  it('sets over a header the client sent and removes a client header', async () => {
    const res = await postJson(`${gw.base('vars')}/v1/chat/completions`, chatBody(), {
      'x-static': 'client-value',
      'x-drop-me': 'please',
      'x-client-ip': '6.6.6.6',
      'x-untouched': 'yes',
    });
    expect(res.status).toBe(200);
    const h = only(fake).headers;
    expect(h['x-static']).toBe('literal-value');
    expect(h['x-drop-me']).toBeUndefined();
    expect(h['x-client-ip']).not.toBe('6.6.6.6');
    expect(h['x-untouched']).toBe('yes');
  });

  it('runs after credential injection: a rule can override the auth header', async () => {
    const res = await postJson(`${gw.base('override-auth')}/v1/chat/completions`, chatBody());
    expect(res.status).toBe(200);
    const r = only(fake);
    expect(r.headers.authorization).toBe('Bearer sk-rule-override-override-auth');
    expect(r.key).toBe('sk-rule-override-override-auth');
  });

  it('runs after credential injection: a rule can remove the auth header', async () => {
    await postJson(`${gw.base('remove-auth')}/v1/chat/completions`, chatBody());
    const r = only(fake);
    expect(r.headers.authorization).toBeUndefined();
    expect(r.key).toBeUndefined();
  });

  it('can move an Anthropic key from x-api-key to a Bearer token', async () => {
    const res = await send(`${gw.base('ant-bearer')}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(res.status).toBe(200);
    const h = only(fake).headers;
    expect(h['x-api-key']).toBeUndefined();
    expect(h.authorization).toBe(`Bearer ${ANT_KEY}`);
    expect(h['anthropic-version']).toBe('2023-06-01');
  });
});

describe('header rules behind a trusted proxy', { timeout: 20_000 }, () => {
  it('${CLIENT_IP} is the forwarded client address', async () => {
    const fake = await startFakeUpstream();
    const gw = await startGateway({ groups: groups(fake.url), isTrustedProxy: () => true });
    try {
      const res = await postJson(`${gw.base('vars')}/v1/chat/completions`, chatBody(), {
        'x-forwarded-for': '192.0.2.44',
      });
      expect(res.status).toBe(200);
      expect(only(fake).headers['x-client-ip']).toBe('192.0.2.44');
    } finally {
      await gw.close();
      await fake.close();
    }
  });
});
