import type { AccessKey } from '@keyway/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, json, stubFetch } from '../../testing/fetch-stub';
import { accessKey, group } from '../../testing/fixtures';
import { byTestId, mountWithApp, settle, settleErrors, typeInto } from '../../testing/mount';
import { confirmAction } from '../../ui/feedback';
import AccessKeysPage from './index.vue';

vi.mock(import('../../ui/feedback'), async (original) => ({
  ...(await original()),
  confirmAction: vi.fn(() => Promise.resolve(true)),
  toastSuccess: vi.fn(),
  toastError: vi.fn(),
}));

// Dialogs with many Element Plus fields take seconds to mount in happy-dom on a busy machine.
vi.setConfig({ testTimeout: 20_000 });

const SECRET = 'sk-kw-console-test-created-secret-0001';
const ROTATED = 'sk-kw-console-test-rotated-secret-0002';
let stub: ReturnType<typeof stubFetch>;
let live: AccessKey[];

const page = (items: AccessKey[]) => json({ items, total: items.length, page: 1, pageSize: 1000 });

beforeEach(() => {
  live = [
    accessKey(1, {
      name: 'team-a',
      groups: [2, 1],
      models: ['gpt-4o*'],
      limits: { ...accessKey(1).limits, rpd: 100, costUsdPerDay: 20 },
      usage: { ...accessKey(1).usage, requestsToday: 40, costUsdToday: 20 },
      lastUsedAt: new Date().toISOString(),
    }),
  ];
  stub = stubFetch({
    'GET /api/access-keys': () => page(live),
    'GET /api/groups': json({
      items: [
        group({ id: 1, name: 'openai', displayName: 'OpenAI' }),
        group({ id: 2, name: 'backup', displayName: 'Backup' }),
      ],
    }),
    'POST /api/access-keys': (c) => {
      const body = c.body as { name: string };
      const created = accessKey(9, { name: body.name });
      live = [...live, created];
      return json({ ...created, key: SECRET }, 201);
    },
    'POST /api/access-keys/1/rotate': json({ key: ROTATED }),
    'PATCH /api/access-keys/1': (c) => {
      live = live.map((k) => (k.id === 1 ? { ...k, ...(c.body as Partial<AccessKey>) } : k));
      return json(live[0]);
    },
    'DELETE /api/access-keys/1': () => {
      live = live.filter((k) => k.id !== 1);
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

async function openPage() {
  const { wrapper } = mountWithApp(AccessKeysPage);
  await settle(10);
  return wrapper;
}

const bodyText = () => document.body.textContent ?? '';

describe('access keys page', () => {
  it('lists each key with its groups in order, models, and usage against its limits', async () => {
    const w = await openPage();
    const row = w.find('[data-testid="access-key-table"]').text();
    expect(row).toContain('team-a');
    expect(row).toContain('sk-k***0001');
    expect(row).toMatch(/1\. Backup\s*2\. OpenAI/);
    expect(row).toContain('gpt-4o*');
    expect(byTestId('usage-rpd').textContent).toContain('40 / 100');
    // A budget used up shows as reached (the key is refused until midnight UTC).
    expect(byTestId('usage-costUsdPerDay').textContent).toContain('$20.00 / $20.00');
    expect(byTestId('usage-costUsdPerDay').querySelector('.is-exception')).not.toBeNull();
  });

  it('shows the secret of a new key once, with a warning, and forgets it when the dialog closes', async () => {
    await openPage();
    byTestId('access-key-create').click();
    await settle();
    await typeInto(byTestId('access-key-form-name'), 'ci-bot');
    byTestId('access-key-form-submit').click();
    await settle(10);
    expect(stub.callsTo('POST /api/access-keys')[0]?.body).toMatchObject({ name: 'ci-bot', groups: [] });
    expect(byTestId('access-key-secret').textContent).toBe(SECRET);
    expect(byTestId('access-key-secret-dialog').textContent).toContain('will not be shown again');
    byTestId('access-key-secret-close').click();
    await settle(10);
    expect(bodyText()).not.toContain(SECRET);
    expect(bodyText()).toContain('ci-bot');
  });

  it('keeps the dialog open with the API message on the field when the server refuses', async () => {
    stub.on(
      'POST /api/access-keys',
      apiError(400, 'VALIDATION_FAILED', 'The request is not valid', [
        { path: 'name', message: 'An access key with this name exists' },
      ]),
    );
    await openPage();
    byTestId('access-key-create').click();
    await settle();
    await typeInto(byTestId('access-key-form-name'), 'team-a');
    byTestId('access-key-form-submit').click();
    await settleErrors();
    expect(byTestId('access-key-form').textContent).toContain('An access key with this name exists');
    expect(document.querySelector('[data-testid="access-key-secret"]')).toBeNull();
  });

  it('rotates after confirmation and shows the new secret; nothing is sent when cancelled', async () => {
    await openPage();
    vi.mocked(confirmAction).mockResolvedValueOnce(false);
    byTestId('access-key-rotate-1').click();
    await settle(10);
    expect(stub.callsTo('POST /api/access-keys/1/rotate')).toHaveLength(0);

    byTestId('access-key-rotate-1').click();
    await settle(10);
    expect(stub.callsTo('POST /api/access-keys/1/rotate')).toHaveLength(1);
    expect(byTestId('access-key-secret').textContent).toBe(ROTATED);
  });

  it('disables a key with its switch and deletes one after confirmation', async () => {
    const w = await openPage();
    byTestId('access-key-enabled-1').click();
    await settle(10);
    expect(stub.callsTo('PATCH /api/access-keys/1').map((c) => c.body)).toEqual([{ enabled: false }]);

    byTestId('access-key-delete-1').click();
    await settle(10);
    expect(confirmAction).toHaveBeenCalledOnce();
    expect(stub.callsTo('DELETE /api/access-keys/1')).toHaveLength(1);
    expect(w.text()).not.toContain('team-a');
  });

  it('edits a key by sending every field back, limits included', async () => {
    await openPage();
    byTestId('access-key-edit-1').click();
    await settle();
    await typeInto(byTestId('access-key-form-name'), 'team-a2');
    byTestId('access-key-form-submit').click();
    await settle(10);
    expect(stub.callsTo('PATCH /api/access-keys/1')[0]?.body).toMatchObject({
      name: 'team-a2',
      groups: [2, 1],
      models: ['gpt-4o*'],
      limits: { rpd: 100, costUsdPerDay: 20, rpm: null },
    });
  });

  it('shows a hostile key name as text, never as markup', async () => {
    live = [accessKey(3, { name: '<img src=x onerror="window.__pwned=1">', notes: '<script>x</script>' })];
    await openPage();
    expect(document.querySelector('[data-testid="access-key-table"] img')).toBeNull();
    expect(document.querySelector('[data-testid="access-key-table"] script')).toBeNull();
    expect(bodyText()).toContain('<img src=x onerror="window.__pwned=1">');
  });
});
