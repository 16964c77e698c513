/**
 * Item 4, "Sessions that end": the session cookie used to be a signed timestamp, so a copy of it kept working for
 * 12 hours after logout. Against standalone over a real socket (default settings): log in, keep the cookie, log
 * out, replay it; then restart with another AUTH_KEY and replay a cookie of the old key.
 */
import { randomBytes } from 'node:crypto';
import type { ManagedProcess } from '@keyway/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { startStandalone, tempDir } from '../harness';

const tmp = tempDir('attack-sessions');
const KEY_1 = `admin-${randomBytes(24).toString('base64url')}`;
const KEY_2 = `admin-${randomBytes(24).toString('base64url')}`;
let running: { proc: ManagedProcess; url: string } | null = null;

afterAll(async () => {
  await running?.proc.stop();
  tmp.cleanup();
});

async function start(authKey: string): Promise<string> {
  await running?.proc.stop();
  running = await startStandalone(tmp.dir, { AUTH_KEY: authKey });
  return running.url;
}

/** Logs in like the console does and returns the `kw_session=…` pair the browser would keep. */
async function login(url: string, authKey: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ authKey }),
  });
  expect(res.status).toBe(204);
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

async function withCookie(url: string, cookie: string, path = '/api/groups'): Promise<number> {
  return (await fetch(`${url}${path}`, { headers: { cookie } })).status;
}

describe('attack 04: session cookies outliving their session', () => {
  it('refuses a cookie replayed after logout', async () => {
    const url = await start(KEY_1);
    const cookie = await login(url, KEY_1);
    expect(await withCookie(url, cookie)).toBe(200);
    const logout = await fetch(`${url}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie, origin: url },
    });
    expect(logout.status).toBe(204);
    // The attacker's copy of the cookie, taken before logout.
    expect(await withCookie(url, cookie)).toBe(401);
    expect(await withCookie(url, cookie, '/api/auth/session')).toBe(401);
  });

  it('keeps sessions across a restart, and revokes them all when AUTH_KEY changes', async () => {
    let url = await start(KEY_1);
    const cookie = await login(url, KEY_1);
    url = await start(KEY_1);
    expect(await withCookie(url, cookie)).toBe(200);

    url = await start(KEY_2);
    expect(await withCookie(url, cookie)).toBe(401);
    expect(await withCookie(url, cookie, '/api/auth/session')).toBe(401);
    const list = await fetch(`${url}/api/auth/sessions`, { headers: { authorization: `Bearer ${KEY_2}` } });
    expect(await list.json()).toEqual({ items: [] });
  });
});
