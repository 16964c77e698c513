import type { UsageItem } from '@keyway/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { json, stubFetch } from '../../testing/fetch-stub';
import { byTestId, mountWithApp, settle } from '../../testing/mount';
import DashboardPage from './index.vue';

vi.setConfig({ testTimeout: 20_000 });
let stub: ReturnType<typeof stubFetch>;

const item = (id: number | string, name: string, costUsd: number): UsageItem => ({
  id,
  name,
  requests: 10,
  errors: 1,
  promptTokens: 1000,
  completionTokens: 500,
  cachedTokens: 200,
  cacheHitRate: 0.2,
  costUsd,
});
const BY: Record<string, UsageItem[]> = {
  group: [item(1, 'openai', 1.5)],
  model: [item('gpt-4o', 'gpt-4o', 1.25), item('', '', 0)],
  accessKey: [item(3, 'team-a', 1.5), item(0, '', 0)],
};

beforeEach(() => {
  stub = stubFetch({
    'GET /api/dashboard/summary': json({
      requests: 10,
      errors: 1,
      errorRate: 0.1,
      rpm: 0.1,
      keys: { total: 1, active: 1, cooling: 0, invalid: 0, disabled: 0 },
      tokens: { prompt: 1000, completion: 500 },
      costUsd: 12.5,
      previous: { requests: 0, errors: 0, errorRate: 0, rpm: 0 },
    }),
    'GET /api/dashboard/timeseries': json({ buckets: [] }),
    'GET /api/dashboard/warnings': json([]),
    'GET /api/groups': json({ items: [] }),
    'GET /api/dashboard/usage': (c) => json({ items: BY[c.query.get('by') ?? ''] ?? [] }),
    'GET /api/dashboard/unpriced-models': json({
      items: [{ model: 'my-local-llm', requests: 3, promptTokens: 30, completionTokens: 9 }],
    }),
  });
  vi.stubGlobal('fetch', stub.fetch);
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

// ECharts needs a real canvas; the chart is not what these tests are about.
const openPage = () => mountWithApp(DashboardPage, { global: { stubs: { TrafficChart: true } } });

const rows = () => [...document.querySelectorAll('[data-testid="usage-row"]')].map((e) => e.textContent);

describe('dashboard cost and usage', () => {
  it('shows the cost of the window, usage per group, and the models that have no price', async () => {
    openPage();
    await settle(10);
    expect(byTestId('card-cost').textContent).toContain('$12.50');
    expect(rows()).toEqual(['openai']);
    expect(byTestId('dashboard-usage').textContent).toContain('$1.50');
    expect(byTestId('usage-cache-hit-rate').textContent).toBe('20%');
    expect(byTestId('dashboard-unpriced').textContent).toContain('my-local-llm');
  });

  it('switches to per model and per access key, naming bare proxy keys and unnamed models', async () => {
    openPage();
    await settle(10);
    byTestId('usage-by-accessKey').querySelector('input')?.click();
    await settle(10);
    expect(stub.callsTo('GET /api/dashboard/usage').at(-1)?.query.get('by')).toBe('accessKey');
    expect(rows()).toEqual(['team-a', 'Proxy keys (no access key)']);

    byTestId('usage-by-model').querySelector('input')?.click();
    await settle(10);
    expect(rows()).toEqual(['gpt-4o', '(no model named)']);
  });
});
