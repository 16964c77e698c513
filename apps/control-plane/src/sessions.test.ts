import { createHash } from 'node:crypto';
import { authSessionListSchema } from '@keyway/contracts';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { requireAuth } from './auth';
import { createApp } from './app';
import type { ControlPlaneDeps, CpEnv } from './context';
import { dbSessionStore } from './session-store';
import type { SessionStore } from './session-store';
import { createSessionManager, SESSION_CACHE_MS } from './sessions';
import type { ErrorBody, Fixture, Requester } from './testing/fixture';
import { createFixture, createRequester } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  await fx.db.session.deleteMany();
});
afterEach(() => {
  vi.useRealTimers();
});

const MINUTE = 60_000;

/** Logs in through `req` (a fresh app by default) and returns the `kw_session=…` pair and the bare token. */
async function login(
  req: Requester = fx.req,
  headers: Record<string, string> = {},
): Promise<{ cookie: string; token: string }> {
  const res = await req('POST', '/api/auth/login', { authKey: fx.authKey }, { auth: false, headers });
  expect(res.status).toBe(204);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { cookie, token: cookie.slice(cookie.indexOf('=') + 1) };
}

// The browser's Origin on the app's own address (app.request() serves http://localhost): what the CSRF check wants.
const asCookie = (cookie: string) =>
  ({ auth: false, cookie, headers: { origin: 'http://localhost' } }) as const;

async function status(cookie: string, req: Requester = fx.req): Promise<number> {
  return (await req('GET', '/api/groups', undefined, asCookie(cookie))).status;
}

describe('logout', () => {
  it('revokes the session: the old cookie, replayed after logout, gets 401', async () => {
    const { cookie } = await login();
    expect(await status(cookie)).toBe(200);
    expect((await fx.req('POST', '/api/auth/logout', undefined, asCookie(cookie))).status).toBe(204);
    const replay = await fx.req<ErrorBody>('GET', '/api/groups', undefined, asCookie(cookie));
    expect(replay.status).toBe(401);
    expect(replay.json.error.code).toBe('UNAUTHORIZED');
    expect((await fx.req('GET', '/api/auth/session', undefined, asCookie(cookie))).status).toBe(401);
  });

  it('ends only the session it was called with', async () => {
    const a = await login();
    const b = await login();
    await fx.req('POST', '/api/auth/logout', undefined, asCookie(a.cookie));
    expect(await status(a.cookie)).toBe(401);
    expect(await status(b.cookie)).toBe(200);
  });
});

describe('an AUTH_KEY change', () => {
  it('revokes every session opened under the old key', async () => {
    const { cookie } = await login();
    const newKey = 'a-brand-new-admin-key-5e8d1c0b9a7f';
    const restarted = createRequester(createApp({ ...fx.deps, authKey: newKey }), newKey);
    expect(await status(cookie, restarted)).toBe(401);
    expect((await restarted('GET', '/api/auth/session', undefined, asCookie(cookie))).status).toBe(401);
    // Not listed either, and gone from the database.
    const list = await restarted<{ items: unknown[] }>('GET', '/api/auth/sessions');
    expect(list.json.items).toEqual([]);
    expect(await fx.db.session.count()).toBe(0);
  });

  it('never stores the admin key or the cookie token, only hashes of them', async () => {
    const { token } = await login();
    const [row] = await fx.db.session.findMany();
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(fx.authKey);
    expect(stored).not.toContain(token);
    expect(row?.tokenHash).toBe(createHash('sha256').update(token).digest('hex'));
  });
});

describe('GET /api/auth/sessions', () => {
  it("lists the live sessions with who opened them, marking the caller's own", async () => {
    const first = await login(fx.req, { 'user-agent': 'Firefox/1' });
    const second = await login(fx.req, { 'user-agent': `Chrome/${'x'.repeat(1000)}` });
    const res = await fx.req<unknown>('GET', '/api/auth/sessions', undefined, asCookie(first.cookie));
    expect(res.status).toBe(200);
    const { items } = authSessionListSchema.parse(res.json);
    expect(items).toHaveLength(2);
    const mine = items.find((s) => s.current);
    expect(mine?.userAgent).toBe('Firefox/1');
    const other = items.find((s) => !s.current);
    expect(other?.userAgent.length).toBeLessThanOrEqual(255);
    expect(other?.userAgent.startsWith('Chrome/')).toBe(true);
    for (const s of items) {
      expect(Date.parse(s.createdAt)).toBeGreaterThan(Date.now() - MINUTE);
      expect(s.lastSeenAt).toBe(s.createdAt);
    }
    // Ids are opaque: neither a cookie token nor its hash appears in the answer.
    for (const t of [first.token, second.token]) {
      expect(res.text).not.toContain(t);
      expect(res.text).not.toContain(createHash('sha256').update(t).digest('hex'));
    }
  });

  it('lists every session as not current for a bearer caller', async () => {
    await login();
    const res = await fx.req<{ items: Array<{ current: boolean }> }>('GET', '/api/auth/sessions');
    expect(res.json.items.map((s) => s.current)).toEqual([false]);
  });

  it('needs credentials', async () => {
    const res = await fx.req<ErrorBody>('GET', '/api/auth/sessions', undefined, { auth: false });
    expect(res.status).toBe(401);
    for (const [m, p] of [
      ['DELETE', '/api/auth/sessions'],
      ['DELETE', '/api/auth/sessions/x'],
    ] as const)
      expect((await fx.req(m, p, undefined, { auth: false })).status).toBe(401);
  });
});

describe('revoking sessions', () => {
  it('revokes one session by id: its cookie gets 401, the others keep working', async () => {
    const a = await login();
    const b = await login();
    const list = await fx.req<{ items: Array<{ id: string; current: boolean }> }>(
      'GET',
      '/api/auth/sessions',
      undefined,
      asCookie(a.cookie),
    );
    const other = list.json.items.find((s) => !s.current)?.id ?? '';
    const del = await fx.req('DELETE', `/api/auth/sessions/${other}`, undefined, asCookie(a.cookie));
    expect(del.status).toBe(204);
    expect(await status(b.cookie)).toBe(401);
    expect(await status(a.cookie)).toBe(200);
    for (const unknown of [other, 'no-such-session', `${'x'.repeat(65)}`, '%2e%2e', 'a%00b']) {
      const again = await fx.req<ErrorBody>('DELETE', `/api/auth/sessions/${unknown}`);
      expect(again.status, unknown).toBe(404);
      expect(again.json.error.code).toBe('NOT_FOUND');
    }
  });

  it("revokes every session but the caller's", async () => {
    const mine = await login();
    const others = [await login(), await login()];
    const res = await fx.req('DELETE', '/api/auth/sessions', undefined, asCookie(mine.cookie));
    expect(res.status).toBe(204);
    for (const o of others) expect(await status(o.cookie)).toBe(401);
    expect(await status(mine.cookie)).toBe(200);
    const list = await fx.req<{ items: Array<{ current: boolean }> }>(
      'GET',
      '/api/auth/sessions',
      undefined,
      asCookie(mine.cookie),
    );
    expect(list.json.items).toEqual([expect.objectContaining({ current: true })]);
  });

  it('revokes all of them when the caller uses the admin key (it has no session)', async () => {
    const sessions = [await login(), await login()];
    expect((await fx.req('DELETE', '/api/auth/sessions')).status).toBe(204);
    for (const s of sessions) expect(await status(s.cookie)).toBe(401);
  });

  it('sees a revocation made on another replica within a second', async () => {
    const replicaA = fx.req;
    const replicaB = createRequester(createApp(fx.deps));
    const { cookie } = await login(replicaA);
    expect(await status(cookie, replicaB)).toBe(200); // now cached on B
    await replicaA('POST', '/api/auth/logout', undefined, asCookie(cookie));
    const t0 = Date.now();
    while ((await status(cookie, replicaB)) !== 401) {
      expect(Date.now() - t0).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(Date.now() - t0).toBeLessThanOrEqual(SESSION_CACHE_MS + 100);
  });
});

describe('session activity and expiry', () => {
  it('records lastSeenAt at most once a minute, not on every request', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = dbSessionStore(fx.db);
    const touch = vi.spyOn(store, 'touch');
    const req = createRequester(createApp({ ...fx.deps, sessionStore: store }));
    const { cookie } = await login(req);
    for (let i = 0; i < 20; i++) {
      vi.setSystemTime(Date.now() + 1000);
      expect(await status(cookie, req)).toBe(200);
    }
    expect(touch).not.toHaveBeenCalled();
    vi.setSystemTime(Date.now() + 45_000);
    expect(await status(cookie, req)).toBe(200);
    expect(await status(cookie, req)).toBe(200);
    expect(touch).toHaveBeenCalledTimes(1);
    await touch.mock.results[0]?.value;
    const [row] = await fx.db.session.findMany();
    expect(row && row.lastSeenAt.getTime() - row.createdAt.getTime()).toBeGreaterThanOrEqual(MINUTE);
  });

  it('purges expired sessions from the store', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    await login();
    vi.setSystemTime(Date.now() + 13 * 60 * MINUTE);
    await login();
    expect(await fx.db.session.count()).toBe(1);
  });
});

describe('Secure cookie', () => {
  const trusted = '10.0.0.2';
  const deps = (): ControlPlaneDeps => ({ ...fx.deps, isTrustedProxy: (a) => a === trusted });

  /** Logs in as if the connection came from `peer` (over TLS when `encrypted`). */
  async function setCookieFrom(
    peer: string,
    headers: Record<string, string>,
    encrypted = false,
    d: ControlPlaneDeps = deps(),
  ): Promise<string> {
    const env = { incoming: { socket: { remoteAddress: peer, encrypted } } };
    const res = await createApp(d).request(
      '/api/auth/login',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ authKey: fx.authKey }),
      },
      env,
    );
    expect(res.status).toBe(204);
    return res.headers.get('set-cookie') ?? '';
  }

  it('is Secure when a trusted proxy says the client used HTTPS', async () => {
    expect(await setCookieFrom(trusted, { 'x-forwarded-proto': 'https' })).toMatch(/;\s*Secure/i);
  });

  it('is not Secure when an untrusted peer claims HTTPS, or a trusted one says HTTP', async () => {
    expect(await setCookieFrom('203.0.113.9', { 'x-forwarded-proto': 'https' })).not.toMatch(/Secure/i);
    expect(await setCookieFrom(trusted, { 'x-forwarded-proto': 'http' })).not.toMatch(/Secure/i);
    expect(await setCookieFrom(trusted, {})).not.toMatch(/Secure/i);
  });

  it('is Secure on a TLS connection, and with SECURE_COOKIES whatever the request', async () => {
    expect(await setCookieFrom('203.0.113.9', {}, true)).toMatch(/;\s*Secure/i);
    const secure = { ...deps(), secureCookies: true };
    expect(await setCookieFrom('203.0.113.9', {}, false, secure)).toMatch(/;\s*Secure/i);
  });
});

describe('requireAuth', () => {
  it('tells later middleware how the caller authenticated and which session it holds', async () => {
    const store: SessionStore = dbSessionStore(fx.db);
    const sessions = createSessionManager(store, fx.authKey, fx.deps.logger);
    const app = new Hono<CpEnv>();
    app.use(async (c, next) => {
      c.set('deps', fx.deps);
      await next();
    });
    app.use(requireAuth(sessions));
    app.get('/who', (c) => c.json({ via: c.var.authVia, sessionId: c.var.sessionId }));
    const { token, session } = await sessions.open({ clientIp: '', userAgent: '' });
    const byCookie = await app.request('/who', { headers: { cookie: `kw_session=${token}` } });
    expect(await byCookie.json()).toEqual({ via: 'cookie', sessionId: session.id });
    const byBearer = await app.request('/who', { headers: { authorization: `Bearer ${fx.authKey}` } });
    expect(await byBearer.json()).toEqual({ via: 'bearer', sessionId: null });
  });
});
