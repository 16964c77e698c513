import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, json, stubFetch } from '../../../testing/fetch-stub';
import { group, settingsResponse } from '../../../testing/fixtures';
import { byTestId, mountWithApp, settle, settleErrors, typeInto } from '../../../testing/mount';
import GroupFormDialog from './GroupFormDialog.vue';

// The whole dialog mounts in each test: slow in happy-dom.
vi.setConfig({ testTimeout: 20_000 });

const MASKED_A = 'http://…@proxy-a.example.com:3128';
const PLAIN_B = 'socks5h://proxy-b.example.com:1080';
const pooled = group({ id: 4, name: 'pooled', proxyPool: [MASKED_A, PLAIN_B] });

let stub: ReturnType<typeof stubFetch>;

beforeEach(() => {
  stub = stubFetch({
    'PATCH /api/groups/4': (c) => json({ ...pooled, ...(c.body as object) }),
    'GET /api/groups/4/proxies': json({
      items: [
        { proxy: MASKED_A, healthy: true, penalizedUntil: null, lastError: null, keys: 7 },
        {
          proxy: PLAIN_B,
          healthy: false,
          penalizedUntil: '2026-01-01T00:05:00.000Z',
          lastError: 'SOCKS5 authentication failed',
          keys: 5,
        },
      ],
    }),
  });
  vi.stubGlobal('fetch', stub.fetch);
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

async function openEditForm() {
  const { wrapper } = mountWithApp(GroupFormDialog, {
    props: {
      modelValue: true,
      target: { mode: 'edit', group: pooled },
      groups: [pooled],
      settings: settingsResponse(),
    },
  });
  await settle();
  return wrapper;
}

/** Element Plus puts the test id on the <input> itself. */
const inputOf = (id: string) => byTestId<HTMLInputElement>(id);

describe('group form: egress proxy pool', () => {
  it('shows each saved proxy masked with its health and pinned keys, and sends saved ones back unchanged', async () => {
    await openEditForm();
    expect(inputOf('proxy-pool-url-0').value).toBe(MASKED_A);
    expect(byTestId('proxy-pool-health-0').textContent).toMatch(/Healthy.*7 keys/s);
    expect(byTestId('proxy-pool-health-1').textContent).toMatch(/Skipped until.*5 keys/s);

    byTestId('proxy-pool-add').click();
    await settle();
    await typeInto(inputOf('proxy-pool-url-2'), 'socks5://user:secret@proxy-c.example.com:1080');
    byTestId('proxy-pool-remove-1').click();
    await settle();
    byTestId('group-form-submit').click();
    await settle();
    expect(stub.callsTo('PATCH /api/groups/4')[0]?.body).toMatchObject({
      proxyPool: [MASKED_A, 'socks5://user:secret@proxy-c.example.com:1080'],
    });
  });

  it('puts the API refusal of one proxy on its row and opens the section', async () => {
    stub.on(
      'PATCH /api/groups/4',
      apiError(400, 'VALIDATION_FAILED', 'A proxy URL is not allowed', [
        { path: 'proxyPool.1', message: 'the egress policy refuses this host' },
      ]),
    );
    await openEditForm();
    byTestId('group-form-submit').click();
    await settleErrors();
    const rowError = byTestId('proxy-pool-url-1')
      .closest('.el-form-item')
      ?.querySelector('.el-form-item__error')?.textContent;
    expect(rowError?.trim()).toBe('the egress policy refuses this host');
    expect(byTestId('group-form-routing').classList.contains('is-active')).toBe(true);
  });
});

describe('group form: tiers and model aliases', () => {
  const members = [
    group({ id: 1, name: 'free', keyStats: { total: 2, active: 2, cooling: 0, invalid: 0, disabled: 0 } }),
    group({ id: 2, name: 'paid' }),
    group({ id: 3, name: 'free-2' }),
  ];
  const aggregate = group({
    id: 9,
    name: 'all',
    type: 'aggregate',
    upstreams: [],
    subGroups: [
      { groupId: 2, weight: 1, priority: 2 },
      { groupId: 1, weight: 3, priority: 1 },
      { groupId: 3, weight: 1, priority: 1 },
    ],
    modelAliases: { smart: ['gpt-4.1', 'gpt-4o'] },
  });

  it('lists members best tier first with their share of the tier, and sends tiers and renamed aliases', async () => {
    stub.on('PATCH /api/groups/9', (c) => json({ ...aggregate, ...(c.body as object) }));
    mountWithApp(GroupFormDialog, {
      props: {
        modelValue: true,
        target: { mode: 'edit', group: aggregate },
        groups: [...members, aggregate],
        settings: settingsResponse(),
      },
    });
    await settle();
    const priorities = [0, 1, 2].map(
      (i) => byTestId(`group-subgroup-priority-${i}`).querySelector('input')?.value,
    );
    expect(priorities).toEqual(['1', '1', '2']);
    const shares = [...document.querySelectorAll('[data-testid="group-subgroup"] .members__share')].map((e) =>
      e.textContent?.trim(),
    );
    expect(shares).toEqual(['75 %', '25 %', '100 %']);

    const tier = byTestId(`group-subgroup-priority-1`).querySelector('input') as HTMLInputElement;
    await typeInto(tier, '3');
    tier.dispatchEvent(new Event('change', { bubbles: true }));
    await typeInto(inputOf('model-alias-name-0'), 'fast');
    await settle();
    byTestId('group-form-submit').click();
    await settle();
    expect(stub.callsTo('PATCH /api/groups/9')[0]?.body).toMatchObject({
      subGroups: [
        { groupId: 1, weight: 3, priority: 1 },
        { groupId: 3, weight: 1, priority: 3 },
        { groupId: 2, weight: 1, priority: 2 },
      ],
      modelAliases: { fast: ['gpt-4.1', 'gpt-4o'] },
    });
    expect(document.querySelector('[data-testid="proxy-pool"]')).toBeNull(); // an aggregate has no keys to pin
  });
});

describe('group form: a single egress proxy', () => {
  it('shows the proxy a group without a pool leaves through, with its health', async () => {
    const direct = group({ id: 5, name: 'single', proxyPool: [] });
    stub = stubFetch({
      'GET /api/groups/5/proxies': json({
        items: [
          {
            proxy: 'http://…@proxy-c.example.com:3128',
            healthy: false,
            penalizedUntil: '2026-01-01T00:05:00.000Z',
            lastError: 'proxy refused the connection',
            keys: 3,
          },
        ],
      }),
    });
    vi.stubGlobal('fetch', stub.fetch);
    mountWithApp(GroupFormDialog, {
      props: {
        modelValue: true,
        target: { mode: 'edit', group: direct },
        groups: [direct],
        settings: settingsResponse(),
      },
    });
    await settle();
    const line = byTestId('proxy-single-health').textContent ?? '';
    expect(line).toContain('http://…@proxy-c.example.com:3128');
    expect(line).toMatch(/Skipped until.*3 keys/s);
  });
});
