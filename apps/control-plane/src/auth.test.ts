import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from './app';
import type { ErrorBody, Fixture } from './testing/fixture';
import { createFixture, createRequester } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
afterEach(() => {
  vi.useRealTimers();
});

const HOUR = 3_600_000;

/** Every admin route except login/logout, with a body where one is needed. */
const ROUTES: Array<[string, string, unknown?]> = [
  ['GET', '/api/groups'],
  ['POST', '/api/groups', { name: 'x', channel: 'openai', upstreams: [{ url: 'https://a.example' }] }],
  ['GET', '/api/groups/1'],
  ['PATCH', '/api/groups/1', { description: 'x' }],
  ['DELETE', '/api/groups/1'],
  ['GET', '/api/groups/1/keys'],
  ['POST', '/api/groups/1/keys', { keys: 'k1' }],
  ['DELETE', '/api/groups/1/keys', { ids: [1] }],
  ['POST', '/api/groups/1/keys/restore', {}],
  ['PATCH', '/api/keys/1', { notes: 'x' }],
  ['GET', '/api/settings'],
  ['PATCH', '/api/settings', { maxRetries: 1 }],
  ['GET', '/api/logs'],
  ['GET', '/api/auth/session'],
  ['GET', '/api/nope'],
];

/** Logs in on a fresh app (its own failure counter) and returns the Set-Cookie header and the `name=value` pair. */
async function login(req = fx.req): Promise<{ setCookie: string; cookie: string }> {
  const res = await req('POST', '/api/auth/login', { authKey: fx.authKey }, { auth: false });
  expect(res.status).toBe(204);
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { setCookie, cookie: setCookie.split(';')[0] ?? '' };
}

describe('admin API authentication', () => {
  it.each(ROUTES)('refuses %s %s without credentials with 401 UNAUTHORIZED', async (method, path, body) => {
    fx.onConfigChanged.mockClear();
    const before = await fx.db.group.count();
    const res = await fx.req<ErrorBody>(method, path, body, { auth: false });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('UNAUTHORIZED');
    expect(await fx.db.group.count()).toBe(before);
    expect(fx.onConfigChanged).not.toHaveBeenCalled();
  });

  it('refuses a wrong bearer token, and a bearer that only starts with the key', async () => {
    for (const token of ['wrong-key', `${fx.authKey}x`, fx.authKey.slice(0, -1)]) {
      const res = await fx.req<ErrorBody>('GET', '/api/groups', undefined, { auth: token });
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
  });

  it('accepts the right bearer token, whatever the case of "Bearer"', async () => {
    expect((await fx.req('GET', '/api/groups')).status).toBe(200);
    const res = await fx.req('GET', '/api/groups', undefined, {
      auth: false,
      headers: { authorization: `bearer ${fx.authKey}` },
    });
    expect(res.status).toBe(200);
  });

  it('answers /api/auth/session for a bearer caller with no expiry', async () => {
    const res = await fx.req('GET', '/api/auth/session');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ authenticated: true, expiresAt: null });
  });

  it('marks every response no-store', async () => {
    const res = await fx.req('GET', '/api/groups');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('login and session cookie', () => {
  it('logs in with the admin key: 204 and an HttpOnly, SameSite=Strict session cookie with an expiry', async () => {
    const t0 = Date.now();
    const { setCookie } = await login();
    expect(setCookie).toMatch(/^kw_session=[^;]+/);
    expect(setCookie).toMatch(/;\s*HttpOnly/i);
    expect(setCookie).toMatch(/;\s*SameSite=Strict/i);
    expect(setCookie).toMatch(/;\s*Path=\//);
    const expires = /;\s*Expires=([^;]+)/i.exec(setCookie)?.[1];
    expect(expires).toBeDefined();
    const at = Date.parse(expires ?? '');
    // 12 hours, to the second the cookie date format keeps.
    expect(at).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) * 1000 + 12 * HOUR - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 12 * HOUR);
    // Not Secure unless asked for (plain-HTTP installs would lose the cookie).
    expect(setCookie).not.toMatch(/;\s*Secure/i);
  });

  it('sets the Secure flag when the deps ask for secure cookies', async () => {
    const req = createRequester(createApp({ ...fx.deps, secureCookies: true }));
    const { setCookie } = await login(req);
    expect(setCookie).toMatch(/;\s*Secure/i);
  });

  it('authenticates /api/groups and /api/auth/session with the cookie alone', async () => {
    const { cookie } = await login();
    const groups = await fx.req('GET', '/api/groups', undefined, { auth: false, cookie });
    expect(groups.status).toBe(200);
    expect(groups.json).toEqual({ items: [] });

    const session = await fx.req<{ authenticated: boolean; expiresAt: string }>(
      'GET',
      '/api/auth/session',
      undefined,
      { auth: false, cookie },
    );
    expect(session.status).toBe(200);
    expect(session.json.authenticated).toBe(true);
    const expiresAt = Date.parse(session.json.expiresAt);
    expect(expiresAt).toBeGreaterThan(Date.now() + 11.9 * HOUR);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 12 * HOUR);
  });

  it('lets a cookie caller write, too', async () => {
    await fx.reset();
    const { cookie } = await login();
    const res = await fx.req(
      'POST',
      '/api/groups',
      { name: 'cookie-made', channel: 'openai', upstreams: [{ url: 'https://a.example' }] },
      { auth: false, cookie, headers: { origin: 'http://localhost' } },
    );
    expect(res.status).toBe(201);
    await fx.reset();
  });

  it('refuses a wrong admin key with 401 and sets no cookie', async () => {
    const req = createRequester(createApp(fx.deps));
    const res = await req<ErrorBody>('POST', '/api/auth/login', { authKey: 'not-the-key' }, { auth: false });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('UNAUTHORIZED');
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('refuses a malformed login body with 400 VALIDATION_FAILED', async () => {
    const req = createRequester(createApp(fx.deps));
    for (const raw of ['{"authKey":', '{"authKey":42}', '{"key":"x"}']) {
      const res = await req<ErrorBody>('POST', '/api/auth/login', undefined, { auth: false, raw });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('rate-limits the 11th failed login from one client within 5 minutes: 429 with Retry-After', async () => {
    const req = createRequester(createApp(fx.deps));
    for (let i = 0; i < 10; i++) {
      const res = await req('POST', '/api/auth/login', { authKey: `wrong-${i}` }, { auth: false });
      expect(res.status).toBe(401);
    }
    const limited = await req<ErrorBody>('POST', '/api/auth/login', { authKey: 'wrong' }, { auth: false });
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('RATE_LIMITED');
    const retry = Number(limited.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(300);
    // Even the right key waits: guessing must not go on in parallel with the real admin.
    const right = await req('POST', '/api/auth/login', { authKey: fx.authKey }, { auth: false });
    expect(right.status).toBe(429);
    expect(right.headers.get('set-cookie')).toBeNull();
  });

  it('lets logins through again once the 5-minute window has passed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const req = createRequester(createApp(fx.deps));
    for (let i = 0; i < 10; i++) await req('POST', '/api/auth/login', { authKey: 'wrong' }, { auth: false });
    expect((await req('POST', '/api/auth/login', { authKey: 'wrong' }, { auth: false })).status).toBe(429);
    vi.setSystemTime(Date.now() + 5 * 60_000 + 1000);
    const res = await req('POST', '/api/auth/login', { authKey: fx.authKey }, { auth: false });
    expect(res.status).toBe(204);
  });

  it('forgets earlier failures after a successful login', async () => {
    const req = createRequester(createApp(fx.deps));
    for (let i = 0; i < 9; i++) await req('POST', '/api/auth/login', { authKey: 'wrong' }, { auth: false });
    await login(req);
    for (let i = 0; i < 10; i++) {
      const res = await req('POST', '/api/auth/login', { authKey: 'wrong' }, { auth: false });
      expect(res.status).toBe(401);
    }
  });

  it('refuses a tampered session cookie', async () => {
    const { cookie } = await login();
    const [name, token = ''] = cookie.split('=');
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const tampered = [
      `${name}=${flipped}`,
      `${name}=${token}A`,
      `${name}=${token.slice(0, -1)}`,
      `${name}=${Date.now() + HOUR}.${token}`,
      `${name}=garbage`,
      `${name}=`,
    ];
    for (const c of tampered) {
      const res = await fx.req<ErrorBody>('GET', '/api/groups', undefined, { auth: false, cookie: c });
      expect(res.status, c).toBe(401);
      expect(res.json.error.code).toBe('UNAUTHORIZED');
      const session = await fx.req('GET', '/api/auth/session', undefined, { auth: false, cookie: c });
      expect(session.status, c).toBe(401);
    }
  });

  it('refuses a cookie signed with another admin key', async () => {
    const otherKey = 'another-admin-key-0123456789abcdef';
    const other = createRequester(createApp({ ...fx.deps, authKey: otherKey }), otherKey);
    const res = await other('POST', '/api/auth/login', { authKey: otherKey }, { auth: false });
    expect(res.status).toBe(204);
    const foreign = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect((await other('GET', '/api/groups', undefined, { auth: false, cookie: foreign })).status).toBe(200);
    expect((await fx.req('GET', '/api/groups', undefined, { auth: false, cookie: foreign })).status).toBe(
      401,
    );
  });

  it('refuses an expired session cookie', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { cookie } = await login();
    vi.setSystemTime(Date.now() + 12 * HOUR - 60_000);
    expect((await fx.req('GET', '/api/groups', undefined, { auth: false, cookie })).status).toBe(200);
    vi.setSystemTime(Date.now() + 2 * 60_000);
    const res = await fx.req<ErrorBody>('GET', '/api/groups', undefined, { auth: false, cookie });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('UNAUTHORIZED');
    expect((await fx.req('GET', '/api/auth/session', undefined, { auth: false, cookie })).status).toBe(401);
  });

  it('logs out: 204 and a Set-Cookie that clears the session cookie', async () => {
    const { cookie } = await login();
    const res = await fx.req('POST', '/api/auth/logout', undefined, {
      auth: false,
      cookie,
      headers: { origin: 'http://localhost' },
    });
    expect(res.status).toBe(204);
    const cleared = res.headers.get('set-cookie') ?? '';
    expect(cleared).toMatch(/^kw_session=;/);
    expect(cleared).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/i);
    expect(cleared).toMatch(/;\s*Path=\//);
  });

  it('answers /api/auth/session without credentials with 401', async () => {
    const res = await fx.req<ErrorBody>('GET', '/api/auth/session', undefined, { auth: false });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('UNAUTHORIZED');
  });
});

describe('unknown routes', () => {
  it('answers an unknown /api route with the 404 NOT_FOUND envelope', async () => {
    const res = await fx.req<ErrorBody>('GET', '/api/nope');
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('NOT_FOUND');
    expect(typeof res.json.error.message).toBe('string');
  });

  it('answers an unsupported method on a known path with 404 NOT_FOUND', async () => {
    const res = await fx.req<ErrorBody>('PUT', '/api/settings', {});
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('NOT_FOUND');
  });
});

describe('robustness', () => {
  it('does not crash when called without node-server bindings', async () => {
    const res = await fx.app.request('/api/groups');
    expect(res.status).toBe(401);
  });
});
