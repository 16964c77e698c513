import type { AuthSession } from '@keyway/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { json, stubFetch } from '../../../testing/fetch-stub';
import { byTestId, mountWithApp, settle } from '../../../testing/mount';
import { confirmAction } from '../../../ui/feedback';
import SessionsCard from './SessionsCard.vue';

vi.mock(import('../../../ui/feedback'), async (original) => ({
  ...(await original()),
  confirmAction: vi.fn(() => Promise.resolve(true)),
  toastSuccess: vi.fn(),
}));

const now = new Date().toISOString();
const session = (id: string, current: boolean, userAgent: string): AuthSession => ({
  id,
  createdAt: now,
  lastSeenAt: now,
  clientIp: '203.0.113.5',
  userAgent,
  current,
});

let stub: ReturnType<typeof stubFetch>;
let live: AuthSession[];

beforeEach(() => {
  live = [
    session('s-mine', true, 'Firefox/128'),
    session('s-phone', false, 'Safari/17'),
    session('s-old', false, 'Chrome/120'),
  ];
  stub = stubFetch({
    'GET /api/auth/sessions': () => json({ items: live }),
    'DELETE /api/auth/sessions': () => {
      live = live.filter((s) => s.current);
      return new Response(null, { status: 204 });
    },
  });
  vi.stubGlobal('fetch', stub.fetch);
  vi.mocked(confirmAction).mockClear();
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

async function mountCard() {
  const { wrapper } = mountWithApp(SessionsCard);
  await settle(10);
  return wrapper;
}

describe('sessions card', () => {
  it('lists every session, marking this browser and offering revoke on the others only', async () => {
    const w = await mountCard();
    expect(w.text()).toContain('Firefox/128');
    expect(w.text()).toContain('Safari/17');
    expect(w.text()).toContain('203.0.113.5');
    expect(byTestId('session-s-mine').textContent).toContain('This browser');
    expect(document.querySelector('[data-testid="session-revoke-s-mine"]')).toBeNull();
    expect(document.querySelector('[data-testid="session-revoke-s-phone"]')).not.toBeNull();
  });

  it('revokes one session after confirmation and reloads the list', async () => {
    stub.on('DELETE /api/auth/sessions/s-phone', () => {
      live = live.filter((s) => s.id !== 's-phone');
      return new Response(null, { status: 204 });
    });
    const w = await mountCard();
    byTestId('session-revoke-s-phone').click();
    await settle(10);
    expect(confirmAction).toHaveBeenCalledOnce();
    expect(stub.callsTo('DELETE /api/auth/sessions/s-phone')).toHaveLength(1);
    expect(w.text()).not.toContain('Safari/17');
    expect(w.text()).toContain('Chrome/120');
  });

  it('revokes every other session, and sends nothing when the confirmation is cancelled', async () => {
    vi.mocked(confirmAction).mockResolvedValueOnce(false);
    const w = await mountCard();
    byTestId('sessions-revoke-others').click();
    await settle(10);
    expect(stub.callsTo('DELETE /api/auth/sessions')).toHaveLength(0);

    byTestId('sessions-revoke-others').click();
    await settle(10);
    expect(stub.callsTo('DELETE /api/auth/sessions')).toHaveLength(1);
    expect(w.text()).toContain('Firefox/128');
    expect(w.text()).not.toContain('Safari/17');
    expect(byTestId<HTMLButtonElement>('sessions-revoke-others').disabled).toBe(true);
  });
});
