import { maskSecret } from '@keyway/core';
import { writeRequestLogs } from '@keyway/db';
import { createLogger } from '@keyway/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from './testing/fixture';
import { AUTH_KEY, createFixture } from './testing/fixture';
import { logRecord } from './testing/log-record';

const GLOBAL_PROXY = 'kw-global-proxy-Zt8qL2vN5xR1';
const GROUP_PROXY = 'kw-group-proxy-Hb3mK9wP6yT4';
const SECRETS = [GLOBAL_PROXY, GROUP_PROXY, AUTH_KEY];

/** What an echoing upstream wrote into a stored error. */
const ECHO = `Incorrect API key provided: ${GLOBAL_PROXY} ${GROUP_PROXY} ${encodeURIComponent(AUTH_KEY)}`;

function expectNoSecret(text: string): void {
  for (const s of SECRETS) {
    expect(text).not.toContain(s);
    expect(text).not.toContain(encodeURIComponent(s));
  }
}

describe('secrets in what the admin API shows', () => {
  let fx: Fixture;
  let groupId: number;

  beforeAll(async () => {
    fx = await createFixture();
    // The process logger carries the registry, as boot() builds it; AUTH_KEY is registered at start-up.
    const logger = createLogger({ level: 'silent', format: 'json' });
    logger.registerSecret(AUTH_KEY, 'authKey');
    fx.deps.logger = logger;
    expect((await fx.req('PATCH', '/api/settings', { proxyKeys: [GLOBAL_PROXY] })).status).toBe(200);
    const g = await fx.req<{ id: number }>('POST', '/api/groups', {
      name: 'echo',
      channel: 'openai',
      upstreams: [{ url: 'http://127.0.0.1:9', weight: 1 }],
      proxyKeys: [GROUP_PROXY],
    });
    expect(g.status).toBe(201);
    groupId = g.json.id;
    await fx.req('POST', `/api/groups/${groupId}/keys`, { keys: ['sk-echo-upstream-0123456789abcdef'] });
    await writeRequestLogs(fx.db, [
      logRecord(1, {
        time: new Date().toISOString(),
        groupId,
        groupName: 'echo',
        statusCode: 401,
        success: false,
        error: ECHO,
        attempts: [
          {
            keyId: 1,
            key: 'sk-ec…cdef',
            upstreamUrl: 'http://127.0.0.1:9/v1/chat/completions',
            statusCode: 401,
            class: 'auth',
            durationMs: 3,
            error: ECHO,
          },
        ],
      }),
    ]);
    await fx.db.apiKey.updateMany({ data: { lastError: ECHO } });
    await fx.db.auditLog.create({
      data: { action: 'test', target: 'settings', clientIp: '', details: { note: `said ${GROUP_PROXY}` } },
    });
  });

  afterAll(() => fx.close());

  it('registers proxy keys when they are written, so echoes of them are masked everywhere', () => {
    const registry = (fx.deps.logger as ReturnType<typeof createLogger>).secrets;
    expect(registry.classOf(GLOBAL_PROXY)).toBe('proxyKey');
    expect(registry.classOf(GROUP_PROXY)).toBe('proxyKey');
  });

  it('masks echoed secrets in the request log list and its attempts', async () => {
    const res = await fx.req('GET', '/api/logs');
    expect(res.status).toBe(200);
    expectNoSecret(res.text);
    expect(res.text).toContain(maskSecret(GLOBAL_PROXY));
  });

  it('masks echoed secrets in the CSV export', async () => {
    const res = await fx.req('GET', '/api/logs/export');
    expect(res.text).toContain('Incorrect API key provided');
    expectNoSecret(res.text);
  });

  it("masks echoed secrets in a key's last error", async () => {
    const res = await fx.req('GET', `/api/groups/${groupId}/keys`);
    expect(res.text).toContain('Incorrect API key provided');
    expectNoSecret(res.text);
  });

  it('masks secrets in audit details', async () => {
    const res = await fx.req('GET', '/api/audit');
    expect(res.text).toContain('said ');
    expectNoSecret(res.text);
  });
});
