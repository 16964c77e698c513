import { maskSecret } from '@keyway/core';
import { createLogger } from '@keyway/observability';
import { freePort, startFakeUpstream } from '@keyway/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFixture } from './testing/fixture';
import type { Fixture } from './testing/fixture';
import { blamesKey, validateKey } from './validate-key';

describe('validateKey', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it('reports a key the upstream accepts as valid', async () => {
    const group = await f.addGroup();
    const r = await validateKey(f.deps, group, 'sk-good-0123456789abcdef');
    expect(r).toMatchObject({ valid: true, statusCode: 200, error: null, class: 'ok' });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    expect(f.fake.requests).toHaveLength(1);
    expect(f.fake.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
  });

  it('reports a rejected key as invalid and never repeats the key in the error', async () => {
    const key = 'sk-revoked-0123456789abcdefXYZ';
    f.fake.setKeyBehaviour(key, { status: 401, message: `Incorrect API key provided: ${key}.` });
    const group = await f.addGroup();
    const r = await validateKey(f.deps, group, key);
    expect(r).toMatchObject({ valid: false, statusCode: 401, class: 'auth' });
    expect(r.error).toMatch(/^401 unauthorized: Incorrect API key provided: /);
    expect(r.error).not.toContain(key);
    expect(r.error).not.toContain('0123456789abcdef');
    expect(blamesKey(r)).toBe(true);
  });

  it('masks every secret the process knows when the upstream echoes it into its error', async () => {
    const key = 'sk-echoed-0123456789abcdefXYZ';
    const authKey = 'admin-key-5f0c2b9e7a1d4c36';
    const proxyKey = 'team-proxy-key-8d2e6a1f9c3b';
    f.fake.setKeyBehaviour(key, {
      status: 401,
      message: `bad: ${key} ${authKey} ?k=${encodeURIComponent(proxyKey)}`,
    });
    const logger = createLogger({ level: 'silent', format: 'json' });
    logger.registerSecret(authKey, 'authKey');
    logger.registerSecret(proxyKey, 'proxyKey');
    const group = await f.addGroup();
    const r = await validateKey({ ...f.deps, logger }, group, key);
    expect(r.error).toContain(maskSecret(authKey));
    for (const secret of [key, authKey, proxyKey, encodeURIComponent(proxyKey)])
      expect(r.error).not.toContain(secret);
  });

  it('does not blame the key for an upstream error', async () => {
    const key = 'sk-flaky-0123456789abcdef';
    f.fake.setKeyBehaviour(key, { status: 503, message: 'overloaded' });
    const group = await f.addGroup();
    const r = await validateKey(f.deps, group, key);
    expect(r).toMatchObject({ valid: false, statusCode: 503, class: 'overloaded' });
    expect(blamesKey(r)).toBe(false);
  });

  it('applies the group header rules with the validation variables', async () => {
    const key = 'sk-rules-0123456789abcdef';
    const group = await f.addGroup({
      name: 'ruled',
      headerRules: [
        { action: 'set', key: 'X-Client', value: 'ip=${CLIENT_IP}' },
        { action: 'set', key: 'X-Group', value: '${GROUP_NAME}' },
        { action: 'set', key: 'X-Forward-Key', value: 'k:${API_KEY}' },
        { action: 'set', key: 'OpenAI-Organization', value: 'org-1' },
        { action: 'remove', key: 'Content-Type' },
      ],
    });
    const r = await validateKey(f.deps, group, key);
    expect(r.valid).toBe(true);
    const headers = f.fake.requests[0]?.headers ?? {};
    expect(headers['x-client']).toBe('ip=127.0.0.1');
    expect(headers['x-group']).toBe('ruled');
    expect(headers['x-forward-key']).toBe(`k:${key}`);
    expect(headers['openai-organization']).toBe('org-1');
    expect(headers['content-type']).toBeUndefined();
    expect(headers.authorization).toBe(`Bearer ${key}`);
  });

  it('lets a header rule override the credential header', async () => {
    const group = await f.addGroup({
      headerRules: [{ action: 'set', key: 'Authorization', value: 'Bearer bad-${GROUP_NAME}' }],
    });
    const r = await validateKey(f.deps, group, 'sk-good-0123456789abcdef');
    expect(r).toMatchObject({ valid: false, statusCode: 401 });
    expect(f.fake.requests[0]?.key).toMatch(/^bad-/);
  });

  it('moves to the next upstream on a connection error and skips upstreams of weight 0', async () => {
    const unused = await startFakeUpstream();
    try {
      const dead = await freePort();
      const group = await f.addGroup({
        upstreams: [
          { url: unused.url, weight: 0 },
          { url: `http://127.0.0.1:${dead}`, weight: 1 },
          { url: f.fake.url, weight: 1 },
        ],
      });
      const r = await validateKey(f.deps, group, 'sk-good-0123456789abcdef');
      expect(r).toMatchObject({ valid: true, statusCode: 200 });
      expect(f.fake.requests).toHaveLength(1);
      expect(unused.requests).toHaveLength(0);
    } finally {
      await unused.close();
    }
  });

  it('uses only the first working upstream', async () => {
    const second = await startFakeUpstream();
    try {
      const group = await f.addGroup({
        upstreams: [
          { url: f.fake.url, weight: 1 },
          { url: second.url, weight: 5 },
        ],
      });
      await validateKey(f.deps, group, 'sk-good-0123456789abcdef');
      await validateKey(f.deps, group, 'sk-good-0123456789abcdef');
      expect(f.fake.requests).toHaveLength(2);
      expect(second.requests).toHaveLength(0);
    } finally {
      await second.close();
    }
  });

  it('fails without an answer when every upstream refuses the connection', async () => {
    const dead = await freePort();
    const group = await f.addGroup({ upstreams: [{ url: `http://127.0.0.1:${dead}`, weight: 1 }] });
    const r = await validateKey(f.deps, group, 'sk-good-0123456789abcdef');
    expect(r).toMatchObject({ valid: false, statusCode: 0, class: 'upstream' });
    expect(r.error).toMatch(/^connect failed: .*ECONNREFUSED/);
    expect(blamesKey(r)).toBe(false);
  });

  it('gives up after the timeout', async () => {
    const key = 'sk-slow-0123456789abcdef';
    f.fake.setKeyBehaviour(key, { hangHeaders: true });
    const group = await f.addGroup();
    const r = await validateKey(f.deps, group, key, { timeoutMs: 200 });
    expect(r).toMatchObject({
      valid: false,
      statusCode: 0,
      error: 'timeout after 200 ms',
      class: 'upstream',
    });
    expect(r.durationMs).toBeLessThan(2000);
    await f.fake.waitForAborted(1);
  });

  it("takes the timeout from the group's settings when none is given", async () => {
    const key = 'sk-slow-0123456789abcdef';
    f.fake.setKeyBehaviour(key, { hangHeaders: true });
    f.settings.keyValidationTimeoutSeconds = 30;
    const group = await f.addGroup({ config: { keyValidationTimeoutSeconds: 1 } });
    const r = await validateKey(f.deps, group, key);
    expect(r.error).toBe('timeout after 1000 ms');
    expect(r.durationMs).toBeGreaterThanOrEqual(900);
  });

  it("sends the channel's own validation request under the upstream's base path", async () => {
    const group = await f.addGroup({
      channel: 'anthropic',
      upstreams: [{ url: `${f.fake.url}/`, weight: 1 }],
    });
    const r = await validateKey(f.deps, { ...group, testModel: 'claude-test' }, 'sk-ant-0123456789abcdef');
    expect(r.valid).toBe(true);
    const req = f.fake.requests[0];
    expect(req?.path).toBe('/v1/messages');
    expect(req?.headers['x-api-key']).toBe('sk-ant-0123456789abcdef');
    expect(JSON.parse(req?.body ?? '{}')).toMatchObject({ model: 'claude-test' });
  });
});
