import type { Key } from '@keyway/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { key } from '../../../testing/fixtures';
import { mountWithApp, settle } from '../../../testing/mount';
import KeyTable from './KeyTable.vue';

function mountTable(items: Key[], total = items.length) {
  return mountWithApp(KeyTable, {
    props: { items, total, loading: false, testing: null, status: '', page: 1, pageSize: 20 },
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
});
