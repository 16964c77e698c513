import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, json, stubFetch } from '../../../testing/fetch-stub';
import { group, settingsResponse } from '../../../testing/fixtures';
import { byTestId, mountWithApp, settle, settleErrors, typeInto } from '../../../testing/mount';
import GroupFormDialog from './GroupFormDialog.vue';

// The whole dialog (every Element Plus input of every section) mounts in each test: slow in happy-dom.
vi.setConfig({ testTimeout: 20_000 });

let stub: ReturnType<typeof stubFetch>;

beforeEach(() => {
  stub = stubFetch({
    'POST /api/groups': (c) => json(group({ name: String((c.body as { name: string }).name) }), 201),
  });
  vi.stubGlobal('fetch', stub.fetch);
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

async function openCreateForm() {
  const { wrapper } = mountWithApp(GroupFormDialog, {
    props: {
      modelValue: true,
      target: { mode: 'create', type: 'standard' },
      groups: [],
      settings: settingsResponse({ maxRetries: 5 }),
    },
  });
  await settle();
  return wrapper;
}

const text = () => document.body.textContent ?? '';

describe('GroupFormDialog', () => {
  it('shows what is wrong on the fields and sends nothing while the form is invalid', async () => {
    await openCreateForm();
    await typeInto(byTestId('group-form-name'), 'Bad Name');
    await typeInto(byTestId('group-form-param-overrides'), '{"temperature": 0.2,');
    await typeInto(byTestId('group-form-model-redirects'), '["gpt-4"]');
    byTestId('group-form-submit').click();
    await settleErrors();
    expect(text()).toContain('Lower-case letters, digits');
    expect(byTestId('group-form-param-overrides-error').textContent).toContain('Not valid JSON');
    expect(byTestId('group-form-model-redirects-error').textContent).toContain('Must be a JSON object');
    // The section holding those editors opens by itself: no error stays folded away.
    expect(byTestId('group-form-advanced').classList.contains('is-active')).toBe(true);
    expect(stub.callsTo('POST /api/groups')).toHaveLength(0);
  });

  it('generates a random proxy key, shows it in full until saved, and sends it', async () => {
    const w = await openCreateForm();
    await typeInto(byTestId('group-form-name'), 'team-a');
    byTestId('proxy-key-generate').click();
    await settle();
    byTestId('proxy-key-generate').click();
    await settle();
    const shown = [...document.querySelectorAll('[data-testid="proxy-key-new"] code')].map(
      (c) => c.textContent ?? '',
    );
    expect(shown).toHaveLength(2);
    for (const k of shown) expect(k).toMatch(/^sk-[A-Za-z0-9_-]{48}$/);
    expect(shown[0]).not.toBe(shown[1]);
    expect(text()).toContain('Copy the new keys now');

    await typeInto(byTestId('group-form-param-overrides'), '{"temperature": 0.2}');
    byTestId('group-form-submit').click();
    await settle();
    const [post] = stub.callsTo('POST /api/groups');
    expect(post?.body).toMatchObject({
      name: 'team-a',
      channel: 'openai',
      upstreams: [{ url: 'https://api.openai.com', weight: 1 }],
      proxyKeys: shown,
      paramOverrides: { temperature: 0.2 },
    });
    expect(w.emitted('saved')?.[0]?.[0]).toMatchObject({ name: 'team-a' });
  });

  it('puts the API answer on the field it is about (409 on the name)', async () => {
    stub.on('POST /api/groups', apiError(409, 'CONFLICT', "A group named 'team-a' already exists"));
    const w = await openCreateForm();
    await typeInto(byTestId('group-form-name'), 'team-a');
    byTestId('group-form-submit').click();
    await settleErrors();
    const nameItem = byTestId('group-form-name').closest('.el-form-item');
    expect(nameItem?.querySelector('.el-form-item__error')?.textContent).toBe(
      "A group named 'team-a' already exists",
    );
    expect(w.emitted('saved')).toBeUndefined();
  });

  it('sends key limits and session affinity filled in through the pool section', async () => {
    await openCreateForm();
    await typeInto(byTestId('group-form-name'), 'paced');
    await typeNumber('key-limits-default-rpm', '10');
    await typeNumber('key-limits-total-rpd', '500');
    byTestId('key-limits-add-model').click();
    await settle();
    await typeInto(byTestId('key-limits-model-0'), 'gpt-4.1');
    await typeNumber('key-limits-model-0-tpm', '30000');
    byTestId('group-form-affinity-session').querySelector('input')?.click();
    await settle();
    await typeInto(byTestId('group-form-affinity-header'), 'x-conversation');
    byTestId('group-form-submit').click();
    await settle();
    expect(stub.callsTo('POST /api/groups')[0]?.body).toMatchObject({
      keyLimits: {
        default: { rpm: 10, tpm: null, rpd: null },
        models: { 'gpt-4.1': { rpm: null, tpm: 30000, rpd: null } },
        total: { rpm: null, tpm: null, rpd: 500 },
      },
      affinity: { mode: 'session', header: 'x-conversation', ttlSeconds: 3600 },
      dailyResetTimeZone: null,
    });
  });

  it("opens the pool section and shows the API's validation errors on its fields", async () => {
    stub.on(
      'POST /api/groups',
      apiError(400, 'VALIDATION_FAILED', 'Invalid request body', [
        {
          path: 'dailyResetTimeZone',
          message: 'must be an IANA time zone such as UTC or America/Los_Angeles',
        },
        { path: 'keyLimits.models.gpt-4.1.rpm', message: 'Too big: expected number to be <=1000000000' },
      ]),
    );
    await openCreateForm();
    await typeInto(byTestId('group-form-name'), 'paced');
    byTestId('key-limits-add-model').click();
    await settle();
    await typeInto(byTestId('key-limits-model-0'), 'gpt-4.1');
    await typeNumber('key-limits-model-0-rpm', '5');
    byTestId('group-form-submit').click();
    await settleErrors();
    const errorOf = (id: string) =>
      byTestId(id).closest('.el-form-item')?.querySelector('.el-form-item__error')?.textContent?.trim();
    expect(errorOf('group-form-reset-zone')).toMatch(/IANA time zone/);
    expect(errorOf('key-limits-model-0-rpm')).toMatch(/Too big/);
    expect(byTestId('group-form-pool').classList.contains('is-active')).toBe(true);
  });
});

/** Types into an Element Plus number input, which takes the value on `change`. */
async function typeNumber(testId: string, value: string): Promise<void> {
  const input = byTestId(testId).querySelector('input');
  if (!input) throw new Error(`no input in ${testId}`);
  await typeInto(input, value);
  input.dispatchEvent(new Event('change', { bubbles: true }));
  await settle();
}
