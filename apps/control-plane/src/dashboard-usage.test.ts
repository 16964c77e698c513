import type { AccessKey, DashboardSummary, Group, RequestLogRecord, Timeseries } from '@keyway/contracts';
import { dashboardUsageSchema, unpricedModelsSchema } from '@keyway/contracts';
import type { DashboardUsage, UnpricedModels } from '@keyway/contracts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cacheHitRate } from './dashboard-usage';
import type { ErrorBody, Fixture } from './testing/fixture';
import { createFixture, standardGroup } from './testing/fixture';
import { seedHourlyStats } from './testing/hourly-stats';
import { logRecord } from './testing/log-record';

const NOW = new Date('2026-03-10T12:34:56.000Z');
const HOUR = 3_600_000;

let fx: Fixture;
let alpha: Group;
let beta: Group;
let agg: Group;
let teamA: AccessKey;

async function post<T>(path: string, body: Record<string, unknown>): Promise<T> {
  const res = await fx.req<T>('POST', path, body);
  expect(res.status, res.text).toBe(201);
  return res.json;
}

let seq = 0;
function rec(hoursAgo: number, over: Partial<RequestLogRecord>): RequestLogRecord {
  return logRecord(++seq, {
    time: new Date(NOW.getTime() - hoursAgo * HOUR).toISOString(),
    groupId: alpha.id,
    groupName: alpha.name,
    model: 'gpt-4o',
    promptTokens: 1000,
    completionTokens: 100,
    cachedTokens: 200,
    costUsd: 0.003,
    ...over,
  });
}

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  fx = await createFixture();
  alpha = await post<Group>('/api/groups', standardGroup('alpha'));
  beta = await post<Group>('/api/groups', standardGroup('beta'));
  agg = await post<Group>('/api/groups', {
    name: 'agg',
    type: 'aggregate',
    channel: 'openai',
    subGroups: [{ groupId: alpha.id, weight: 1 }],
  });
  teamA = await post<AccessKey>('/api/access-keys', { name: 'team-a' });
  const viaAgg = { parentGroupId: agg.id, parentGroupName: 'agg' };
  const key = { accessKeyId: teamA.id, accessKeyName: 'team-a' };
  await seedHourlyStats(fx.db, [
    rec(0, key),
    rec(1, { ...key, ...viaAgg }),
    rec(2, {
      ...key,
      success: false,
      statusCode: 502,
      promptTokens: null,
      completionTokens: null,
      cachedTokens: null,
      costUsd: null,
    }),
    rec(3, {}),
    rec(4, { groupId: beta.id, groupName: 'beta', model: 'acme-local-7b', cachedTokens: 900, costUsd: null }),
    // Another deleted access key's requests stay, named by id.
    rec(5, { groupId: beta.id, groupName: 'beta', accessKeyId: 999, accessKeyName: 'gone' }),
    // Outside 24h, inside 7d.
    rec(50, { ...key, model: 'mystery-model', costUsd: null }),
  ]);
});
afterAll(async () => {
  vi.useRealTimers();
  await fx.close();
});

async function usage(query: string): Promise<DashboardUsage> {
  const res = await fx.req<DashboardUsage>('GET', `/api/dashboard/usage${query}`);
  expect(res.status, res.text).toBe(200);
  return dashboardUsageSchema.parse(res.json);
}

const row = (u: DashboardUsage, id: number | string) => u.items.find((i) => i.id === id);

describe('GET /api/dashboard/usage', () => {
  it('answers per access key, bare proxy keys under id 0, each request once', async () => {
    const u = await usage('?range=24h&by=accessKey');
    expect(row(u, teamA.id)?.costUsd).toBeCloseTo(0.006, 9);
    expect({ ...row(u, teamA.id), costUsd: 0 }).toEqual({
      id: teamA.id,
      name: 'team-a',
      requests: 3,
      errors: 1,
      promptTokens: 2000,
      completionTokens: 200,
      cachedTokens: 400,
      cacheHitRate: 0.2,
      costUsd: 0,
    });
    expect(row(u, 0)).toMatchObject({ name: '', requests: 2 });
    expect(row(u, 999)).toMatchObject({ name: '#999', requests: 1 });
    expect(u.items.reduce((n, i) => n + i.requests, 0)).toBe(6);
    expect(u.items[0]?.id).toBe(teamA.id); // most requests first
  });

  it('answers per group and per model over a wider range', async () => {
    const byGroup = await usage('?range=7d&by=group');
    expect(byGroup.items.map((i) => [i.name, i.requests])).toEqual([
      ['alpha', 5],
      ['beta', 2],
    ]);
    const byModel = await usage('?range=7d&by=model');
    expect(byModel.items.map((i) => [i.id, i.name, i.requests])).toEqual([
      ['gpt-4o', 'gpt-4o', 5],
      ['acme-local-7b', 'acme-local-7b', 1],
      ['mystery-model', 'mystery-model', 1],
    ]);
  });

  it('shows the cache-hit share of each group and model: cached prompt tokens / prompt tokens', async () => {
    const byGroup = await usage('?range=7d&by=group');
    // alpha: 4 answered requests of 1000 prompt tokens, 200 of them cached each; beta: 900 + 200 of 2000.
    expect(byGroup.items.map((i) => [i.name, i.cacheHitRate])).toEqual([
      ['alpha', 0.2],
      ['beta', 0.55],
    ]);
    const byModel = await usage('?range=7d&by=model');
    expect(row(byModel, 'acme-local-7b')?.cacheHitRate).toBeCloseTo(0.9, 9);
  });

  it('has no cache-hit share without prompt tokens', () => {
    expect(cacheHitRate(0, 0)).toBeNull();
    expect(cacheHitRate(0, 500)).toBe(0);
    expect(cacheHitRate(700, 500)).toBe(1);
  });

  it('defaults to 24h by group and refuses an unknown dimension or range', async () => {
    expect((await usage('')).items.map((i) => i.name)).toEqual(['alpha', 'beta']);
    for (const q of ['?by=user', '?range=1y', '?by=group%0d%0a']) {
      const res = await fx.req<ErrorBody>('GET', `/api/dashboard/usage${q}`);
      expect(res.status, q).toBe(400);
    }
  });
});

describe('cost on the summary and the time series', () => {
  it('adds up the cost of the range once each', async () => {
    const s = await fx.req<DashboardSummary>('GET', '/api/dashboard/summary?range=24h');
    expect(s.json.costUsd).toBeCloseTo(0.003 * 3 + 0.003, 9);
    const t = await fx.req<Timeseries>('GET', '/api/dashboard/timeseries?range=24h');
    expect(t.json.buckets.reduce((n, b) => n + b.costUsd, 0)).toBeCloseTo(0.012, 9);
    expect(t.json.buckets[23]?.costUsd).toBeCloseTo(0.003, 9);
  });
});

describe('GET /api/dashboard/unpriced-models', () => {
  it('lists the models that reported tokens without a price, for the range asked', async () => {
    const day = await fx.req<UnpricedModels>('GET', '/api/dashboard/unpriced-models?range=24h');
    expect(unpricedModelsSchema.parse(day.json).items).toEqual([
      { model: 'acme-local-7b', requests: 1, promptTokens: 1000, completionTokens: 100 },
    ]);
    const week = await fx.req<UnpricedModels>('GET', '/api/dashboard/unpriced-models?range=7d');
    expect(week.json.items.map((i) => i.model)).toEqual(['acme-local-7b', 'mystery-model']);
    // A price added by the operator takes the model off the list.
    await fx.req('PUT', '/api/prices/mystery-model', { inputPerMTok: 1, outputPerMTok: 2 });
    const after = await fx.req<UnpricedModels>('GET', '/api/dashboard/unpriced-models?range=7d');
    expect(after.json.items.map((i) => i.model)).toEqual(['acme-local-7b']);
  });
});
