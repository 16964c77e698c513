import { trustedProxyMatcher } from '@keyway/server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from './app';
import type { Fixture, Requester } from './testing/fixture';
import { createFixture, createRequester, standardGroup } from './testing/fixture';

type ErrorBody = { error: { code: string; message: string } };

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

// app.request() sees every request as http://localhost.
const SELF = 'http://localhost';

async function sessionCookie(req: Requester = fx.req): Promise<string> {
  const res = await req('POST', '/api/auth/login', { authKey: fx.authKey }, { auth: false });
  expect(res.status).toBe(204);
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

async function groupCount(): Promise<number> {
  return (await fx.req<{ items: unknown[] }>('GET', '/api/groups')).json.items.length;
}

describe('CSRF: cookie-authenticated writes', () => {
  it('refuses the reported attack: text/plain from a foreign origin with the session cookie (403, nothing created)', async () => {
    const cookie = await sessionCookie();
    const res = await fx.req<ErrorBody>('POST', '/api/groups', undefined, {
      auth: false,
      cookie,
      raw: JSON.stringify(standardGroup('csrf')),
      headers: { 'content-type': 'text/plain', origin: 'http://127.0.0.1:9999' },
    });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('FORBIDDEN');
    expect(await groupCount()).toBe(0);
  });

  it('lets the console write: JSON from its own origin', async () => {
    const cookie = await sessionCookie();
    const res = await fx.req('POST', '/api/groups', standardGroup('console'), {
      auth: false,
      cookie,
      headers: { origin: SELF },
    });
    expect(res.status).toBe(201);
  });

  it('refuses a sibling port or subdomain of the same site', async () => {
    const cookie = await sessionCookie();
    for (const origin of ['http://localhost:9999', 'https://localhost', 'http://evil.localhost', 'null']) {
      const res = await fx.req('POST', '/api/groups', standardGroup('sibling'), {
        auth: false,
        cookie,
        headers: { origin },
      });
      expect(res.status, origin).toBe(403);
    }
    expect(await groupCount()).toBe(0);
  });

  it('refuses JSON-less bodies even from the own origin', async () => {
    const cookie = await sessionCookie();
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await fx.req('POST', '/api/groups', undefined, {
        auth: false,
        cookie,
        raw: JSON.stringify(standardGroup('typed')),
        headers: { 'content-type': type, origin: SELF },
      });
      expect(res.status, type).toBe(403);
    }
    expect(await groupCount()).toBe(0);
  });

  it('falls back to Referer without Origin, and refuses a write with neither', async () => {
    const cookie = await sessionCookie();
    const withReferer = await fx.req('POST', '/api/groups', standardGroup('referred'), {
      auth: false,
      cookie,
      headers: { referer: `${SELF}/groups?x=1` },
    });
    expect(withReferer.status).toBe(201);
    const foreignReferer = await fx.req('POST', '/api/groups', standardGroup('foreign'), {
      auth: false,
      cookie,
      headers: { referer: 'http://127.0.0.1:9999/attack.html' },
    });
    expect(foreignReferer.status).toBe(403);
    const neither = await fx.req('DELETE', '/api/groups/1', undefined, { auth: false, cookie });
    expect(neither.status).toBe(403);
    expect(await groupCount()).toBe(1);
  });

  it('checks bodiless deletes for the origin too', async () => {
    const g = await fx.req<{ id: number }>('POST', '/api/groups', standardGroup('victim'));
    const cookie = await sessionCookie();
    const foreign = await fx.req('DELETE', `/api/groups/${g.json.id}`, undefined, {
      auth: false,
      cookie,
      headers: { origin: 'http://127.0.0.1:9999' },
    });
    expect(foreign.status).toBe(403);
    const own = await fx.req('DELETE', `/api/groups/${g.json.id}`, undefined, {
      auth: false,
      cookie,
      headers: { origin: SELF },
    });
    expect(own.status).toBe(204);
  });

  it('accepts the configured appUrl and CORS_ORIGINS as origins, but not CORS_ORIGINS=*', async () => {
    await fx.req('PATCH', '/api/settings', { appUrl: 'https://keyway.example.com' });
    const cookie = await sessionCookie();
    const viaAppUrl = await fx.req('POST', '/api/groups', standardGroup('app-url'), {
      auth: false,
      cookie,
      headers: { origin: 'https://keyway.example.com' },
    });
    expect(viaAppUrl.status).toBe(201);

    const cors = createRequester(createApp(fx.deps, { corsOrigins: ['https://ops.example.com'] }));
    const viaCors = await cors('POST', '/api/groups', standardGroup('cors'), {
      auth: false,
      cookie,
      headers: { origin: 'https://ops.example.com' },
    });
    expect(viaCors.status).toBe(201);
    const star = createRequester(createApp(fx.deps, { corsOrigins: ['*'] }));
    const viaStar = await star('POST', '/api/groups', standardGroup('star'), {
      auth: false,
      cookie,
      headers: { origin: 'https://anyone.example.com' },
    });
    expect(viaStar.status).toBe(403);
  });

  it('does not take the built-in appUrl default as an allowed origin', async () => {
    const cookie = await sessionCookie();
    const res = await fx.req('POST', '/api/groups', standardGroup('default-app-url'), {
      auth: false,
      cookie,
      headers: { origin: 'http://localhost:3001' },
    });
    expect(res.status).toBe(403);
  });

  it('believes X-Forwarded-Proto/-Host from a trusted proxy only', async () => {
    const cookie = await sessionCookie();
    const behind = (peer: string) => {
      const app = createApp({ ...fx.deps, isTrustedProxy: trustedProxyMatcher(['10.0.0.0/8']) });
      const body = JSON.stringify(standardGroup(`fwd-${peer.replace(/\./g, '-')}`));
      return app.request(
        '/api/groups',
        {
          method: 'POST',
          body,
          headers: {
            cookie,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            origin: 'https://keyway.example.com',
            'x-forwarded-proto': 'https',
            'x-forwarded-host': 'keyway.example.com',
          },
        },
        { incoming: { socket: { remoteAddress: peer } } },
      );
    };
    expect((await behind('10.1.2.3')).status).toBe(201);
    expect((await behind('192.0.2.7')).status).toBe(403);
  });
});

describe('CSRF: bearer and login', () => {
  it('leaves bearer requests alone, whatever their origin and content type', async () => {
    const res = await fx.req('POST', '/api/groups', undefined, {
      raw: JSON.stringify(standardGroup('bearer')),
      headers: { 'content-type': 'text/plain', origin: 'http://127.0.0.1:9999' },
    });
    expect(res.status).toBe(201);
  });

  it('refuses a login posted from a foreign page (login CSRF) but not one without Origin (curl, scripts)', async () => {
    const foreign = await fx.req(
      'POST',
      '/api/auth/login',
      { authKey: fx.authKey },
      {
        auth: false,
        headers: { origin: 'http://127.0.0.1:9999' },
      },
    );
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('set-cookie')).toBeNull();
    const own = await fx.req(
      'POST',
      '/api/auth/login',
      { authKey: fx.authKey },
      {
        auth: false,
        headers: { origin: SELF },
      },
    );
    expect(own.status).toBe(204);
    const script = await fx.req('POST', '/api/auth/login', { authKey: fx.authKey }, { auth: false });
    expect(script.status).toBe(204);
  });

  it('refuses a foreign-origin logout (it would sign the console out)', async () => {
    const cookie = await sessionCookie();
    const res = await fx.req('POST', '/api/auth/logout', undefined, {
      auth: false,
      cookie,
      headers: { origin: 'http://127.0.0.1:9999' },
    });
    expect(res.status).toBe(403);
    expect((await fx.req('GET', '/api/auth/session', undefined, { auth: false, cookie })).status).toBe(200);
  });
});
