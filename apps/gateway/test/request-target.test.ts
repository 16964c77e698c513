import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, postJson, sendRaw, startEchoUpstream, startGateway } from './harness';
import type { TestGateway } from './harness';

const TEN = Array.from({ length: 10 }, (_, i) => `sk-target-ten-${String(i).padStart(4, '0')}-abcdefgh`);
const ANT = 'sk-ant-target-one-key-0001-abcdef';
const BODY = JSON.stringify(chatBody());

describe('request targets (issue 11 item 1)', { timeout: 30_000 }, () => {
  let fake: FakeUpstream;
  let echo: Awaited<ReturnType<typeof startEchoUpstream>>;
  let gw: TestGateway;
  let host: string;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    echo = await startEchoUpstream();
    gw = await startGateway({
      groups: [
        { name: 'kqf7tbo', upstreams: [fake.url], keys: TEN },
        { name: 'echo', upstreams: [echo.url], keys: ['sk-target-echo-0001-abcdefgh'] },
        { name: 'ant', channel: 'anthropic', upstreams: [fake.url], keys: [ANT] },
      ],
    });
    host = new URL(gw.url).host;
  });
  afterAll(async () => {
    await gw.close();
    await echo.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    echo.requests.length = 0;
    gw.records.length = 0;
  });

  const raw = (target: string, extra = '') =>
    sendRaw(
      gw.url,
      `POST ${target} HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${PROXY_KEY}\r\ncontent-type: application/json${extra}`,
      BODY,
    );
  const keysUntouched = () => {
    for (const k of TEN) expect(gw.health(k)).toMatchObject({ status: 'active', failureCount: 0 });
  };

  it('a percent-encoded group name in a 10-key group, repeated: no key charged, no storm, legit calls all succeed', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const attack = await postJson(`${gw.url}/proxy/%6bqf7tbo/v1/chat/completions`, chatBody());
      const legit = await postJson(`${gw.base('kqf7tbo')}/v1/chat/completions`, chatBody());
      statuses.push(attack.status, legit.status);
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(fake.requests.map((r) => r.path).every((p) => p === '/v1/chat/completions')).toBe(true);
    keysUntouched();
  });

  it('forwards the path after the group byte for byte, escapes included', async () => {
    const res = await postJson(`${gw.url}/proxy/%65cho/v1/files/file%2Dabc%20x:run?x=%41&y=1`, chatBody());
    expect(res.status).toBe(200);
    expect(echo.requests[0]?.url).toBe('/v1/files/file%2Dabc%20x:run?x=%41&y=1');
  });

  it('serves an absolute-form request line that names this gateway', async () => {
    const res = await raw(`http://${host}/proxy/kqf7tbo/v1/chat/completions`);
    expect(res.status).toBe(200);
    expect(fake.requests[0]?.path).toBe('/v1/chat/completions');
    keysUntouched();
  });

  it('refuses an absolute-form request line naming another host: 400 in the dialect, upstream never contacted', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await raw('http://upstream.example:8080/proxy/kqf7tbo/v1/chat/completions');
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'invalid_request_target' } });
    }
    expect(fake.requests).toHaveLength(0);
    keysUntouched();
  });

  it.each([
    '/proxy/ant/v1/../v1/messages',
    '/proxy/ant/v1/%2e%2e/v1/messages',
    '/proxy/ant/v1/./messages',
    '/proxy/ant/v1/messages%00',
    '/proxy/ant/v1/%5c../messages',
    '/proxy/ant/v1/..%2f/messages',
  ])(
    'refuses %s with 400 in the channel dialect, upstream never contacted, key untouched',
    async (target) => {
      const res = await raw(target);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect(fake.requests).toHaveLength(0);
      expect(gw.health(ANT)).toMatchObject({ status: 'active', failureCount: 0 });
      const [record] = await gw.waitForRecords(1);
      expect(record).toMatchObject({ statusCode: 400, attempts: [], keyId: null, groupName: 'ant' });
    },
  );

  it('refuses a raw backslash in the path before any upstream is contacted', async () => {
    const res = await raw('/proxy/ant/v1\\messages');
    expect(res.status).toBe(400);
    expect(fake.requests).toHaveLength(0);
  });

  it('answers an unknown group 404 in the OpenAI dialect first, even with a bad path', async () => {
    const res = await raw('/proxy/nope/v1/../x');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'not_found' } });
  });
});
