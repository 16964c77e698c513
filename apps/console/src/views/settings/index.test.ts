import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, json, stubFetch } from '../../testing/fetch-stub';
import { accessKey, settingsResponse } from '../../testing/fixtures';
import { byTestId, mountWithApp, settle, settleErrors, typeInto } from '../../testing/mount';
import SettingsPage from './index.vue';

let stub: ReturnType<typeof stubFetch>;

vi.setConfig({ testTimeout: 20_000 });

beforeEach(() => {
  const initial = settingsResponse({ maxRetries: 3, proxyKeys: ['sk-g***9f3a'] });
  stub = stubFetch({
    'GET /api/settings': json(initial),
    'PATCH /api/settings': (c) => json({ values: { ...initial.values, ...(c.body as object) } }),
    'GET /api/prices': json({ items: [] }),
    'GET /api/auth/sessions': json({ items: [] }),
  });
  vi.stubGlobal('fetch', stub.fetch);
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

async function openPage() {
  const { wrapper } = mountWithApp(SettingsPage);
  await settle(10);
  return wrapper;
}

/** Commits a number the way el-input-number does: typed, then changed. */
async function setNumber(testid: string, value: number) {
  const input = byTestId(testid).querySelector('input') ?? byTestId(testid);
  await typeInto(input, String(value));
  input.dispatchEvent(new Event('change', { bubbles: true }));
  await settle();
}

describe('settings page', () => {
  it('renders every setting of the schema, grouped by category, with its description and limits', async () => {
    const w = await openPage();
    expect(w.text()).toContain('Keys and failover');
    expect(w.find('[data-testid="setting-maxRetries"]').text()).toContain(
      'Extra attempts on other keys after a retryable failure.',
    );
    expect(w.find('[data-testid="setting-maxRetries"]').text()).toContain('range 0 to 50');
    expect(w.findAll('[data-testid^="setting-"][data-testid$="Seconds"]').length).toBeGreaterThan(5);
  });

  it('shows the diff before saving and sends only what changed', async () => {
    const w = await openPage();
    await setNumber('setting-input-maxRetries', 7);
    expect(w.text()).toContain('Unsaved changes: 1');
    byTestId('settings-save').click();
    await settle();
    expect(byTestId('settings-diff').textContent).toContain('Retries');
    expect(byTestId('settings-diff-after').textContent).toBe('7');
    byTestId('settings-confirm').click();
    await settle();
    expect(stub.callsTo('PATCH /api/settings').map((c) => c.body)).toEqual([{ maxRetries: 7 }]);
    expect(w.text()).not.toContain('Unsaved changes');
  });

  it('shows the egress proxy masked, keeps it by not sending it, and sends an emptied one as null (direct)', async () => {
    const masked = 'socks5://…@proxy.example.com:1080';
    const initial = settingsResponse({ maxRetries: 3, proxyUrl: masked });
    stub.on('GET /api/settings', json(initial));
    stub.on('PATCH /api/settings', (c) => json({ values: { ...initial.values, ...(c.body as object) } }));
    const w = await openPage();
    expect(byTestId<HTMLInputElement>('setting-input-proxyUrl').value).toBe(masked);
    await setNumber('setting-input-maxRetries', 4);
    byTestId('settings-save').click();
    await settle();
    byTestId('settings-confirm').click();
    await settle();
    await typeInto(byTestId('setting-input-proxyUrl'), '');
    expect(w.text()).toContain('Unsaved changes: 1');
    byTestId('settings-save').click();
    await settle();
    byTestId('settings-confirm').click();
    await settle();
    expect(stub.callsTo('PATCH /api/settings').map((c) => c.body)).toEqual([
      { maxRetries: 4 },
      { proxyUrl: null },
    ]);
  });

  it('shows the API validation message on the field it is about', async () => {
    stub.on(
      'PATCH /api/settings',
      apiError(400, 'VALIDATION_FAILED', 'The request is not valid', [
        { path: 'appUrl', message: 'Invalid URL' },
      ]),
    );
    const w = await openPage();
    await typeInto(byTestId('setting-input-appUrl'), 'not a url');
    byTestId('settings-save').click();
    await settle();
    byTestId('settings-confirm').click();
    await settleErrors();
    expect(w.find('[data-testid="setting-appUrl"] .el-form-item__error').text()).toBe('Invalid URL');
    expect(w.text()).toContain('Unsaved changes: 1'); // the draft is kept for fixing
  });

  it('turns a saved global proxy key into an access key, leaving nothing to save', async () => {
    stub.on('POST /api/access-keys/from-proxy-key', (c) =>
      json(accessKey(4, { name: (c.body as { name: string }).name }), 201),
    );
    const w = await openPage();
    byTestId('proxy-key-to-access-key').click();
    await settle();
    await typeInto(byTestId('from-proxy-key-name'), 'legacy-client');
    byTestId('from-proxy-key-submit').click();
    await settle(10);
    expect(stub.callsTo('POST /api/access-keys/from-proxy-key').map((c) => c.body)).toEqual([
      { keyMasked: 'sk-g***9f3a', name: 'legacy-client' },
    ]);
    expect(document.querySelector('[data-testid="proxy-key-saved"]')).toBeNull();
    expect(w.text()).not.toContain('Unsaved changes');
  });
});
