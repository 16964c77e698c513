import { authSessionListSchema } from '@keyway/contracts';
import { trustedProxyMatcher } from '@keyway/server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from './app';
import type { ControlPlaneDeps } from './context';
import type { Fixture } from './testing/fixture';
import { createFixture } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  await fx.db.session.deleteMany();
});

const PROXY = '10.0.0.2';
const ATTACKER = '203.0.113.66';

/** One app (one failure counter) whose requests arrive from a chosen peer with chosen headers. */
function client(deps: ControlPlaneDeps) {
  const app = createApp(deps);
  return async (peer: string, authKey: string, headers: Record<string, string> = {}) =>
    app.request(
      '/api/auth/login',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ authKey }),
      },
      { incoming: { socket: { remoteAddress: peer } } },
    );
}

describe('the client address behind TRUSTED_PROXIES', () => {
  const behindProxy = (): ControlPlaneDeps => ({ ...fx.deps, isTrustedProxy: trustedProxyMatcher([PROXY]) });

  it('counts failed logins per forwarded client, so one guesser behind the proxy does not lock out the admin', async () => {
    const login = client(behindProxy());
    for (let i = 0; i < 10; i++) {
      const res = await login(PROXY, 'wrong', { 'x-forwarded-for': ATTACKER });
      expect(res.status).toBe(401);
    }
    expect((await login(PROXY, 'wrong', { 'x-forwarded-for': ATTACKER })).status).toBe(429);
    // Same proxy, another client: its own count.
    const admin = await login(PROXY, fx.authKey, { 'x-forwarded-for': '198.51.100.7' });
    expect(admin.status).toBe(204);
  });

  it('reads the right-most X-Forwarded-For entry: a client-written left part cannot reset the count', async () => {
    const login = client(behindProxy());
    for (let i = 0; i < 10; i++) {
      // The client sends its own X-Forwarded-For; the proxy appends the address it saw.
      await login(PROXY, 'wrong', { 'x-forwarded-for': `192.0.2.${i}, ${ATTACKER}` });
    }
    const res = await login(PROXY, 'wrong', { 'x-forwarded-for': `192.0.2.99, ${ATTACKER}` });
    expect(res.status).toBe(429);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy: a spoofed header does not dodge the limit', async () => {
    const login = client(behindProxy());
    for (let i = 0; i < 10; i++) {
      const res = await login(ATTACKER, 'wrong', { 'x-forwarded-for': `198.51.100.${i}` });
      expect(res.status).toBe(401);
    }
    const res = await login(ATTACKER, fx.authKey, { 'x-forwarded-for': '198.51.100.200' });
    expect(res.status).toBe(429);
  });

  it('ignores X-Forwarded-For entirely when TRUSTED_PROXIES is empty', async () => {
    const login = client({ ...fx.deps, isTrustedProxy: trustedProxyMatcher([]) });
    for (let i = 0; i < 10; i++) await login(PROXY, 'wrong', { 'x-forwarded-for': `198.51.100.${i}` });
    expect((await login(PROXY, 'wrong', { 'x-forwarded-for': '198.51.100.77' })).status).toBe(429);
  });

  it('lists a session under the forwarded client address, not the proxy address', async () => {
    const deps = behindProxy();
    const login = client(deps);
    expect((await login(PROXY, fx.authKey, { 'x-forwarded-for': '198.51.100.7' })).status).toBe(204);
    expect((await login(ATTACKER, fx.authKey, { 'x-forwarded-for': '198.51.100.8' })).status).toBe(204);
    const res = await createApp(deps).request('/api/auth/sessions', {
      headers: { authorization: `Bearer ${fx.authKey}` },
    });
    const { items } = authSessionListSchema.parse(await res.json());
    expect(items.map((s) => s.clientIp).sort()).toEqual(['198.51.100.7', ATTACKER]);
  });
});
