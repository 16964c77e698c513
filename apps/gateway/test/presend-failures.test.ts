import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chatBody, postJson, startGateway } from './harness';
import type { TestGateway } from './harness';

const ONE = 'sk-presend-one-key-0001-abcdefgh';
const TEN = Array.from({ length: 10 }, (_, i) => `sk-presend-ten-${String(i).padStart(4, '0')}-abcdefgh`);
const GOOD = 'sk-presend-good-0001-abcdefgh';
const BAD_KEY = 'sk-presend-ключ-0001-abcdefgh';
const SECRET_IN_RULE = 'static-upstream-token-9f8e7d6c';

describe('failures before a byte is sent (issue 11 item 2)', { timeout: 30_000 }, () => {
  let fake: FakeUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    // The snapshot is built directly: stored data that predates (or bypassed) the API's validation.
    gw = await startGateway({
      groups: [
        {
          name: 'crlf',
          upstreams: [fake.url],
          keys: [ONE],
          headerRules: [{ action: 'set', key: 'X-Trace', value: `${SECRET_IN_RULE}\r\nX-Injected: 1` }],
        },
        {
          name: 'unicode',
          upstreams: [fake.url],
          keys: TEN,
          headerRules: [{ action: 'set', key: 'X-Team', value: 'équipe → ${GROUP_NAME}' }],
        },
        {
          name: 'framing',
          upstreams: [fake.url],
          keys: [GOOD],
          headerRules: [{ action: 'set', key: 'Transfer-Encoding', value: 'gzip' }],
        },
        { name: 'ftp', upstreams: ['ftp://127.0.0.1:21/v1'], keys: [GOOD] },
        { name: 'garbage-url', upstreams: ['not a url'], keys: [GOOD] },
        // Stored before egress checks on write: the connection is refused when opened, before a byte is sent.
        { name: 'metadata', upstreams: ['http://169.254.169.254/v1'], keys: TEN },
        { name: 'bad-key', channel: 'anthropic', upstreams: [fake.url], keys: [BAD_KEY] },
        { name: 'good', upstreams: [fake.url], keys: [GOOD] },
        {
          name: 'agg',
          type: 'aggregate',
          subGroups: [
            { group: 'crlf', weight: 1 },
            { group: 'good', weight: 1 },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    gw.records.length = 0;
    gw.logs.length = 0;
  });

  const call = (group: string) => postJson(`${gw.base(group)}/v1/chat/completions`, chatBody());

  it('a header rule with CR/LF in its value: 500 GATEWAY_CONFIG, the key stays active, the upstream is never contacted', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await call('crlf');
      expect(res.status).toBe(500);
      const error = res.json<{ error: { code: string; message: string } }>().error;
      expect(error.code).toBe('gateway_config');
      expect(error.message).toContain("Group 'crlf'");
      expect(error.message).toContain('headerRules[0].value');
      expect(res.text).not.toContain(SECRET_IN_RULE);
    }
    expect(fake.requests).toHaveLength(0);
    expect(gw.health(ONE)).toMatchObject({ status: 'active', failureCount: 0 });
    const records = await gw.waitForRecords(5);
    expect(records.every((r) => r.statusCode === 500 && r.attempts.length === 0 && r.keyId === null)).toBe(
      true,
    );
    expect(JSON.stringify(records)).not.toContain(SECRET_IN_RULE);
    // Logged once, not once per request; the value itself appears nowhere.
    const lines = gw.logs.filter((l) => l.level === 'error');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.obj).toMatchObject({ group: 'crlf', field: 'headerRules[0].value' });
    expect(JSON.stringify(gw.logs)).not.toContain(SECRET_IN_RULE);
  });

  it('a non-Latin-1 header value in a 10-key group: every key stays active and the storm guard never opens', async () => {
    for (let i = 0; i < 20; i++) expect((await call('unicode')).status).toBe(500);
    for (const k of TEN) expect(gw.health(k, 'unicode')).toMatchObject({ status: 'active', failureCount: 0 });
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    ['framing', 'headerRules[0].key'],
    ['ftp', 'upstreams[0].url'],
    ['garbage-url', 'upstreams[0].url'],
  ])('%s: 500 GATEWAY_CONFIG naming %s, nothing charged', async (group, field) => {
    const res = await call(group);
    expect(res.status).toBe(500);
    expect(res.json<{ error: { message: string } }>().error.message).toContain(field);
    expect(gw.health(GOOD, group)).toMatchObject({ status: 'active', failureCount: 0 });
    expect(fake.requests).toHaveLength(0);
  });

  it('an upstream the egress policy refuses: 500 GATEWAY_CONFIG naming upstreams, no key charged, no storm', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await call('metadata');
      expect(res.status).toBe(500);
      expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({
        code: 'gateway_config',
        message: expect.stringContaining('upstreams') as string,
      });
    }
    for (const k of TEN)
      expect(gw.health(k, 'metadata')).toMatchObject({ status: 'active', failureCount: 0 });
  });

  it('an upstream key that cannot travel in a header: 500 GATEWAY_CONFIG in the dialect, the key is not blacklisted', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await postJson(`${gw.base('bad-key')}/v1/messages`, {
        model: 'claude-3-5-haiku-latest',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(res.status).toBe(500);
      expect(res.json()).toMatchObject({ type: 'error', error: { type: 'api_error' } });
      expect(res.text).not.toContain(BAD_KEY);
    }
    expect(gw.health(BAD_KEY)).toMatchObject({ status: 'active', failureCount: 0 });
    expect(fake.requests).toHaveLength(0);
  });

  it('an aggregate skips a sub-group whose configuration cannot be sent and serves from the others', async () => {
    for (let i = 0; i < 6; i++) expect((await call('agg')).status).toBe(200);
    expect(fake.requests).toHaveLength(6);
    expect(gw.health(ONE)).toMatchObject({ status: 'active', failureCount: 0 });
  });

  it('the healthy groups of the same gateway keep serving', async () => {
    expect((await call('good')).status).toBe(200);
  });
});
