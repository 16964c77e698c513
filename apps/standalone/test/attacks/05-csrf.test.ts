/**
 * Issue 11 item 5: a cookie-authenticated `POST /api/groups` with `Content-Type: text/plain` and
 * `Origin: http://127.0.0.1:9999` created a group. SameSite=Strict does not stop same-site origins (another port,
 * a sibling subdomain), so every cookie-authenticated write must name an allowed origin and send JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startTarget } from './support';
import type { AttackTarget } from './support';

describe('attack 05: cross-site writes with the session cookie', { timeout: 120_000 }, () => {
  let target: AttackTarget;
  let cookie: string;

  beforeAll(async () => {
    target = await startTarget({ label: 'attack-05' });
    cookie = await login(target);
  });
  afterAll(() => target?.close());

  function group(name: string): string {
    return JSON.stringify({ name, channel: 'openai', upstreams: [{ url: target.upstreamUrl }] });
  }

  /** A write as a browser page would send it: the session cookie rides along, the page picks the rest. */
  async function write(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<{ status: number; code: string | undefined }> {
    const res = await fetch(`${target.url}/api${path}`, { method, headers: { cookie, ...headers }, body });
    const text = await res.text();
    const code = text ? (JSON.parse(text) as { error?: { code: string } }).error?.code : undefined;
    return { status: res.status, code };
  }

  async function groupNames(): Promise<string[]> {
    const res = await target.admin.get('/groups');
    return (res.body['items'] as { name: string }[]).map((g) => g.name);
  }

  it('the reported attack — text/plain from http://127.0.0.1:9999 with the cookie — is 403 and creates nothing', async () => {
    const res = await write(
      'POST',
      '/groups',
      { 'content-type': 'text/plain', origin: 'http://127.0.0.1:9999' },
      group('csrf-attack'),
    );
    expect(res).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await groupNames()).not.toContain('csrf-attack');
  });

  it('a form post from the same foreign page is refused too', async () => {
    const res = await write(
      'POST',
      '/groups',
      { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://127.0.0.1:9999' },
      `x=${encodeURIComponent(group('csrf-form'))}`,
    );
    expect(res.status).toBe(403);
  });

  it('a page on a sibling port of the same host is refused, even sending JSON', async () => {
    const sibling = `http://127.0.0.1:${target.port + 1}`;
    const res = await write(
      'POST',
      '/groups',
      { 'content-type': 'application/json', origin: sibling },
      group('csrf-sibling'),
    );
    expect(res.status).toBe(403);
    expect(await groupNames()).not.toContain('csrf-sibling');
  });

  it('a foreign page cannot delete with the cookie either (no body, still origin-checked)', async () => {
    const created = await target.admin.post('/groups', JSON.parse(group('keep-me')) as object);
    const id = created.body['id'] as number;
    const res = await write('DELETE', `/groups/${id}`, { origin: 'http://127.0.0.1:9999' });
    expect(res.status).toBe(403);
    expect(await groupNames()).toContain('keep-me');
  });

  it('the console itself still writes: JSON from its own origin with the cookie', async () => {
    const res = await write(
      'POST',
      '/groups',
      { 'content-type': 'application/json', origin: target.url },
      group('from-console'),
    );
    expect(res.status).toBe(201);
    expect(await groupNames()).toContain('from-console');
  });

  it('Bearer callers are unaffected, whatever origin and content type they send', async () => {
    const res = await fetch(`${target.url}/api/groups`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${target.authKey}`,
        'content-type': 'text/plain',
        origin: 'http://127.0.0.1:9999',
      },
      body: group('from-script'),
    });
    expect(res.status).toBe(201);
  });

  it('a foreign page cannot log the browser in (login CSRF)', async () => {
    const res = await fetch(`${target.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://127.0.0.1:9999' },
      body: JSON.stringify({ authKey: target.authKey }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
  });
});
