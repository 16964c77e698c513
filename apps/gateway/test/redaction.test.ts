import { maskSecret } from '@keyway/core';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_KEY, chatBody, postJson, readTimed, send, startGateway } from './harness';
import type { TestGateway } from './harness';

const ECHOED = 'sk-proj-EchoedKey1234567890abcdefghijklmnXYZ9';
const OTHER = 'sk-proj-SecondKeyFAKE654321notRealKeyOnlyABC1';
const GEM = 'AIzaSyRedactionTestKey0123456789abcdEF';
const ALL_KEYS = [ECHOED, OTHER, GEM];

describe('secret redaction', { timeout: 20_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({
      groups: [
        { name: 'one', upstreams: [fake.url], keys: [ECHOED], config: { maxRetries: 0 } },
        { name: 'two', upstreams: [fake.url], keys: [ECHOED, OTHER] },
        { name: 'gem', channel: 'gemini', upstreams: [fake.url], keys: [GEM], config: { maxRetries: 0 } },
      ],
    });
  });
  afterAll(async () => {
    // Whatever happened in this file: no record, attempt or log line holds a key in clear.
    const everything = JSON.stringify(gw.records) + JSON.stringify(gw.logs);
    for (const secret of [...ALL_KEYS, PROXY_KEY]) expect(everything).not.toContain(secret);
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    gw.records.length = 0;
    gw.restoreKeys();
  });

  it('an upstream error echoing the key reaches the client and the log with the key masked', async () => {
    fake.setKeyBehaviour(ECHOED, {
      status: 401,
      message: `Incorrect API key provided: ${ECHOED}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    });
    const res = await postJson(`${gw.base('one')}/v1/chat/completions`, chatBody());
    expect(res.status).toBe(401);
    expect(res.text).toContain('Incorrect API key provided');
    expect(res.text).not.toContain(ECHOED);
    expect(res.headers['content-length']).toBe(String(res.body.length));
    const [record] = await gw.waitForRecords(1);
    expect(record?.error).toContain('Incorrect API key provided');
    expect(JSON.stringify(record)).not.toContain(ECHOED);
    expect(record?.attempts[0]?.error).toBeTruthy();
    expect(record?.attempts[0]?.error).not.toContain(ECHOED);
    expect(record?.attempts[0]?.key).toBe(maskSecret(ECHOED));
  });

  it('a gzip-compressed upstream error echoing the key is decoded and masked', async () => {
    fake.options.gzip = true;
    try {
      fake.setKeyBehaviour(ECHOED, { status: 401, message: `Incorrect API key provided: ${ECHOED}.` });
      const res = await postJson(`${gw.base('one')}/v1/chat/completions`, chatBody(), {
        'accept-encoding': 'gzip',
      });
      expect(res.status).toBe(401);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.json<{ error: { message: string } }>().error.message).toContain(
        'Incorrect API key provided',
      );
      expect(res.text).not.toContain(ECHOED);
      const [record] = await gw.waitForRecords(1);
      expect(JSON.stringify(record)).not.toContain(ECHOED);
    } finally {
      fake.options.gzip = false;
    }
  });

  it('a non-retried client error (422) echoing the key is masked too', async () => {
    fake.setKeyBehaviour(ECHOED, {
      status: 422,
      message: `Unprocessable request (credential ${ECHOED}, model x)`,
    });
    const res = await postJson(`${gw.base('one')}/v1/chat/completions`, chatBody());
    expect(res.status).toBe(422);
    expect(res.text).toContain('Unprocessable request');
    expect(res.text).not.toContain(ECHOED);
    const [record] = await gw.waitForRecords(1);
    expect(JSON.stringify(record)).not.toContain(ECHOED);
  });

  it('a Gemini error quoting the key in a URL is masked', async () => {
    fake.setKeyBehaviour(GEM, {
      status: 400,
      message: `API key not valid. Please pass a valid API key. (https://generativelanguage.googleapis.com/v1beta/models?key=${GEM})`,
    });
    const res = await send(`${gw.base('gem')}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': PROXY_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(GEM);
    const [record] = await gw.waitForRecords(1);
    expect(JSON.stringify(record)).not.toContain(GEM);
  });

  it('records carry masked keys only: retries, streams and a proxy key given as ?key=', async () => {
    fake.setKeyBehaviour(ECHOED, { status: 500, message: `server error for ${ECHOED}`, times: 1 });
    await postJson(`${gw.base('two')}/v1/chat/completions`, chatBody());
    const stream = await fetch(`${gw.base('two')}/v1/chat/completions?key=${PROXY_KEY}&x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody({ stream: true })),
    });
    await readTimed(stream);
    await send(`${gw.base('two')}/v1/models?key=${encodeURIComponent(PROXY_KEY)}`);
    const records = await gw.waitForRecords(3);
    const text = JSON.stringify(records);
    for (const secret of [...ALL_KEYS, PROXY_KEY]) expect(text).not.toContain(secret);
    for (const r of records) {
      expect(r.proxyKeyMasked).toBe(maskSecret(PROXY_KEY));
      expect(
        r.keyMasked === null || r.keyMasked === maskSecret(ECHOED) || r.keyMasked === maskSecret(OTHER),
      ).toBe(true);
    }
    expect(records.some((r) => r.retries === 1)).toBe(true);
  });
});
