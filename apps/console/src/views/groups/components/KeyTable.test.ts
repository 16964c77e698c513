import type { Key, KeyLimits } from '@keyway/contracts';
import { afterEach, describe, expect, it, vi } from 'vitest';

// Element Plus tables are slow to mount in happy-dom, more so on a busy machine.
vi.setConfig({ testTimeout: 20_000 });
import { key } from '../../../testing/fixtures';
import { mountWithApp, settle } from '../../../testing/mount';
import KeyTable from './KeyTable.vue';

function mountTable(items: Key[], total = items.length, keyLimits: KeyLimits | null = null, pooled = false) {
  return mountWithApp(KeyTable, {
    props: {
      items,
      total,
      loading: false,
      testing: null,
      status: '',
      page: 1,
      pageSize: 20,
      keyLimits,
      pooled,
    },
  }).wrapper;
}

afterEach(() => {
  document.body.innerHTML = '';
});

describe('KeyTable', () => {
  it('shows one row per key with its masked value, state and last error', async () => {
    const w = mountTable([
      key(1),
      key(2, { status: 'cooling', cooldownUntil: new Date(Date.now() + 130_000).toISOString() }),
      key(3, { status: 'invalid', lastError: '401 invalid api key' }),
    ]);
    await settle();
    const rows = w.findAll('[data-testid="key-row"]');
    expect(rows.map((r) => r.attributes('data-key-id'))).toEqual(['1', '2', '3']);
    expect(rows[0]?.text()).toContain('sk-a***0001');
    expect(w.findAll('[data-testid="key-status"]').map((s) => s.text())).toEqual([
      'Active',
      'Cooling',
      'Invalid',
    ]);
    expect(w.text()).toContain('back in 2 minutes');
    expect(w.text()).toContain('401 invalid api key');
  });

  it('shows the egress proxy each key is pinned to, masked, only when the group has a pool', async () => {
    const keys = [
      key(1, { proxy: 'http://…@proxy-a.example.com:3128' }),
      key(2, { proxy: 'socks5h://b:1080' }),
    ];
    const w = mountTable(keys, 2, null, true);
    await settle();
    expect(w.findAll('[data-testid="key-proxy"]').map((c) => c.text())).toEqual([
      'http://…@proxy-a.example.com:3128',
      'socks5h://b:1080',
    ]);
    const direct = mountTable([key(3)]);
    await settle();
    expect(direct.findAll('[data-testid="key-proxy"]')).toHaveLength(0);
    expect(direct.text()).not.toContain('Egress proxy');
  });

  it('asks for another state when a state filter is picked', async () => {
    const w = mountTable([key(1)]);
    await w.find('[data-testid="key-filter-invalid"] input').setValue(true);
    await w.find('[data-testid="key-filter-cooling"] input').setValue(true);
    expect(w.emitted('update:status')).toEqual([['invalid'], ['cooling']]);
  });

  it('asks for the next page from the pager', async () => {
    // Only the total matters to the pager; two rows keep the (slow in happy-dom) table small.
    const w = mountTable([key(1), key(2)], 95);
    await settle();
    expect(w.find('[data-testid="key-pagination"]').text()).toContain('Total 95');
    await w.find('[data-testid="key-pagination"] .btn-next').trigger('click');
    expect(w.emitted('update:page')).toEqual([[2]]);
  });

  it('reports per-key actions with the key they belong to', async () => {
    const w = mountTable([key(1), key(2)]);
    await settle();
    const buttons = w.findAll('[data-testid="key-test"]');
    await buttons[1]?.trigger('click');
    expect(w.emitted('action')).toEqual([['test', expect.objectContaining({ id: 2 })]]);
  });

  it('shows the models an active key is cooling for, with the time and reason in a tooltip', async () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const w = mountTable([
      key(1, {
        modelCooling: [
          { model: 'gemini-2.5-pro', until, reason: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier' },
          { model: 'gemini-2.0-flash', until: '2020-01-01T00:00:00.000Z', reason: 'ended' },
        ],
      }),
    ]);
    await settle();
    const chips = w.findAll('[data-testid="key-model-cooling"]');
    expect(chips.map((c) => c.attributes('data-model'))).toEqual(['gemini-2.5-pro']);
    expect(chips[0]?.text()).toMatch(/^gemini-2\.5-pro · until \d{2}:\d{2}/);
    expect(w.findAll('[data-testid="key-status"]').map((s) => s.text())).toEqual(['Active']);
    await chips[0]?.trigger('mouseenter');
    await new Promise((r) => setTimeout(r, 50));
    await settle();
    expect(document.body.textContent).toContain('Cooling for gemini-2.5-pro until');
    expect(document.body.textContent).toContain('GenerateRequestsPerDayPerProjectPerModel-FreeTier');
  });

  it("shows each key's pacing usage against the group's limits only when the group has some", async () => {
    const usage = { rpmNow: 3, tpmNow: 1200, requestsToday: 250 };
    const limits: KeyLimits = { default: null, models: {}, total: { rpm: 10, tpm: null, rpd: 250 } };
    const paced = mountTable([key(1, { usage })], 1, limits);
    await settle();
    expect(paced.find('[data-testid="key-pacing-rpm"]').text()).toBe('3/10 rpm');
    expect(paced.find('[data-testid="key-pacing-tpm"]').text()).toBe('1.2K tpm');
    const today = paced.find('[data-testid="key-pacing-rpd"]');
    expect(today.text()).toBe('250/250 today');
    expect(today.classes()).toContain('pacing__full');
    paced.unmount();

    const free = mountTable([key(1)], 1, null);
    await settle();
    expect(free.find('[data-testid="key-pacing"]').exists()).toBe(false);
    expect(free.text()).not.toContain('Pacing');
  });
});
