import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, json, stubFetch } from '../../testing/fetch-stub';
import { byTestId, mountWithApp, settle, typeInto } from '../../testing/mount';
import LoginPage from './index.vue';

let stub: ReturnType<typeof stubFetch>;

beforeEach(() => {
  stub = stubFetch({ 'GET /api/auth/session': apiError(401, 'UNAUTHORIZED', 'No valid session') });
  vi.stubGlobal('fetch', stub.fetch);
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

async function submit(key: string) {
  const mounted = mountWithApp(LoginPage);
  await mounted.router.push('/login?redirect=/logs');
  await typeInto(byTestId('login-key'), key);
  byTestId('login-submit').click();
  await settle(10);
  return mounted;
}

describe('login page', () => {
  it('says the key is wrong on a 401', async () => {
    stub.on('POST /api/auth/login', apiError(401, 'UNAUTHORIZED', 'Wrong admin key'));
    await submit('not-the-key');
    expect(byTestId('login-error').textContent).toContain('Wrong admin key.');
    expect(stub.callsTo('POST /api/auth/login')[0]?.body).toEqual({ authKey: 'not-the-key' });
  });

  it('says to wait when login is rate limited (429)', async () => {
    stub.on('POST /api/auth/login', apiError(429, 'RATE_LIMITED', 'Too many failed logins; try again later'));
    await submit('guess');
    expect(byTestId('login-error').textContent).toContain('Too many failed attempts');
  });

  it('asks for a key before calling the API', async () => {
    await submit('   ');
    expect(byTestId('login-error').textContent).toContain('Enter the admin key.');
    expect(stub.callsTo('POST /api/auth/login')).toHaveLength(0);
  });

  it('goes back to the page that asked for the login once the session cookie is set', async () => {
    stub.on('POST /api/auth/login', new Response(null, { status: 204 }));
    stub.on('GET /api/auth/session', json({ authenticated: true, expiresAt: '2030-01-01T00:00:00.000Z' }));
    const { router } = await submit('the-right-admin-key');
    expect(router.currentRoute.value.fullPath).toBe('/logs');
    expect(document.querySelector('[data-testid="login-error"]')).toBeNull();
  });
});
