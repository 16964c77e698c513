import { maskSecret } from '@keyway/core';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, postJson, readTimed, startGateway } from './harness';
import type { TestGateway } from './harness';

const KEY = 'sk-echo-secrets-0001-abcdefghijkl';
const ANT_KEY = 'sk-ant-echo-secrets-0002-abcdefgh';
const AUTH_KEY = 'admin-Rz7qXm4vTn8pLc2wHd6s';
const ACCOUNT = {
  'openai-organization': 'org-secret-tenant',
  'openai-project': 'proj_secret_tenant',
  'anthropic-organization-id': '5e1f0c2a-aaaa-bbbb-cccc-0123456789ab',
};

describe('echoed secrets and account headers (issue 11 item 9, gateway side)', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [
        { name: 'oa', upstreams: [fake.url], keys: [KEY], config: { maxRetries: 0 } },
        { name: 'ant', channel: 'anthropic', upstreams: [fake.url], keys: [ANT_KEY] },
      ],
      // The process's secret registry (AUTH_KEY registered at start-up, as standalone does).
      secrets: [AUTH_KEY],
    });
  });
  afterAll(async () => {
    const everything = JSON.stringify(gw.records) + JSON.stringify(gw.logs);
    for (const secret of [KEY, ANT_KEY, AUTH_KEY, PROXY_KEY]) expect(everything).not.toContain(secret);
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    fake.setKeyBehaviour(KEY, undefined);
    fake.setKeyBehaviour(ANT_KEY, undefined);
    gw.records.length = 0;
  });

  it("an upstream error echoing the caller's proxy key and AUTH_KEY reaches client and log masked", async () => {
    fake.setKeyBehaviour(KEY, {
      status: 400,
      message: `Unknown header x-forwarded-auth: Bearer ${PROXY_KEY}; also saw ${AUTH_KEY} and ${KEY}`,
    });
    const res = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody());
    expect(res.status).toBe(400);
    expect(res.text).toContain('Unknown header');
    for (const secret of [PROXY_KEY, AUTH_KEY, KEY]) expect(res.text).not.toContain(secret);
    expect(res.text).toContain(maskSecret(AUTH_KEY));
    const [record] = await gw.waitForRecords(1);
    for (const secret of [PROXY_KEY, AUTH_KEY, KEY]) {
      expect(record?.error).not.toContain(secret);
      expect(record?.attempts[0]?.error).not.toContain(secret);
    }
    expect(record?.attempts[0]?.error).toContain('Unknown header');
  });

  it('response headers naming the credential are masked, on errors and on success, and still sent', async () => {
    fake.setKeyBehaviour(KEY, {
      status: 401,
      headers: { 'x-echo-credential': `Bearer ${KEY}`, 'x-echo-proxy': PROXY_KEY, 'x-admin': AUTH_KEY },
    });
    const failed = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody());
    expect(failed.status).toBe(401);
    const sent = JSON.stringify(failed.headers);
    for (const secret of [KEY, PROXY_KEY, AUTH_KEY]) expect(sent).not.toContain(secret);
    expect(failed.headers['x-echo-credential']).toMatch(/^Bearer sk-ec\.+/);
    fake.setKeyBehaviour(KEY, { headers: { 'x-echo-credential': `Bearer ${KEY}` } });
    const ok = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody());
    expect(ok.status).toBe(200);
    expect(JSON.stringify(ok.headers)).not.toContain(KEY);
    const records = await gw.waitForRecords(2);
    expect(records.map((r) => r.statusCode)).toEqual([401, 200]);
  });

  it('account-identifying headers are removed from successful, failed and streamed responses', async () => {
    fake.setKeyBehaviour(KEY, { headers: ACCOUNT });
    const ok = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody());
    expect(ok.status).toBe(200);
    fake.setKeyBehaviour(KEY, { status: 400, headers: ACCOUNT });
    const failed = await postJson(`${gw.base('oa')}/v1/chat/completions`, chatBody());
    expect(failed.status).toBe(400);
    fake.setKeyBehaviour(ANT_KEY, { headers: ACCOUNT });
    const streamed = await fetch(`${gw.base('ant')}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 5,
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(streamed.status).toBe(200);
    expect((await readTimed(streamed)).text).toContain('message_stop');
    for (const name of Object.keys(ACCOUNT)) {
      expect(ok.headers[name]).toBeUndefined();
      expect(failed.headers[name]).toBeUndefined();
      expect(streamed.headers.get(name)).toBeNull();
    }
    // The fake did send them: the gateway removed them.
    expect(fake.requests).toHaveLength(3);
  });
});
