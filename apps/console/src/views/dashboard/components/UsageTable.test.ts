import type { UsageItem } from '@keyway/contracts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mountWithApp, settle } from '../../../testing/mount';
import UsageTable from './UsageTable.vue';

vi.setConfig({ testTimeout: 20_000 });

afterEach(() => {
  document.body.innerHTML = '';
});

function row(name: string, cacheHitRate: number | null): UsageItem {
  return {
    id: name,
    name,
    requests: 10,
    errors: 0,
    promptTokens: 1000,
    completionTokens: 100,
    cachedTokens: 420,
    costUsd: 0,
    cacheHitRate,
  };
}

function mountTable(by: 'group' | 'model', items: UsageItem[]) {
  return mountWithApp(UsageTable, { props: { items, unpriced: [], loading: false, by } }).wrapper;
}

const rates = () =>
  [...document.querySelectorAll('[data-testid="usage-cache-hit-rate"]')].map((e) => e.textContent);

describe('UsageTable', () => {
  it("shows each group's prompt-cache hit share, — when it has no prompt tokens", async () => {
    mountTable('group', [row('gemini', 0.42), row('idle', null)]);
    await settle();
    expect(rates()).toEqual(['42%', '—']);
    expect(document.body.textContent).toContain('Cache hits');
  });

  it('shows the share by model too', async () => {
    mountTable('model', [row('gpt-4o', 0.985)]);
    await settle();
    expect(rates()).toEqual(['98.5%']);
  });
});
