import type { DashboardSummary, Group, Timeseries } from '@keyway/contracts';
import { dashboardSummarySchema, timeseriesSchema } from '@keyway/contracts';
import type { RequestLogRecord } from '@keyway/contracts';
import { writeRequestLogs } from '@keyway/db';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from './app';
import { dashboardRoutes, rangeWindow } from './dashboard';
import type { ErrorBody, Fixture, Requester } from './testing/fixture';
import { createFixture, createRequester, standardGroup } from './testing/fixture';
import { seedHourlyStats } from './testing/hourly-stats';
import { logRecord } from './testing/log-record';

const NOW = new Date('2026-03-10T12:34:56.000Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

let fx: Fixture;
let req: Requester;
let alpha: Group;
let beta: Group;
let agg: Group;

let seq = 0;
function rec(at: number, over: Partial<RequestLogRecord>): RequestLogRecord {
  seq++;
  return logRecord(seq, {
    time: new Date(at).toISOString(),
    groupId: alpha.id,
    groupName: alpha.name,
    clientIp: '10.0.0.1',
    requestPath: '/v1/chat/completions',
    promptTokens: 10,
    completionTokens: 20,
    ...over,
  });
}

const fail = { success: false, statusCode: 502, error: 'bad gateway' };

async function create(body: Record<string, unknown>): Promise<Group> {
  const res = await fx.req<Group>('POST', '/api/groups', body);
  expect(res.status, res.text).toBe(201);
  return res.json;
}

beforeAll(async () => {
  // Only Date is faked: the windows are computed from a fixed "now", while timers and I/O run for real.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  fx = await createFixture();
  const app = createApp(fx.deps);
  // The mount app.ts gets; once it has it, that one answers first (the same factory either way).
  app.route('/api/dashboard', dashboardRoutes());
  req = createRequester(app);

  alpha = await create(standardGroup('alpha'));
  beta = await create(standardGroup('beta'));
  agg = await create({
    name: 'agg',
    type: 'aggregate',
    channel: 'openai',
    subGroups: [{ groupId: alpha.id, weight: 1 }],
  });
  const now = NOW.getTime();
  const viaAgg = { parentGroupId: agg.id, parentGroupName: 'agg' };
  const records = [
    // The current 24h window: 2026-03-09T13:00 up to the hour in progress.
    rec(now - MIN, {}),
    rec(now - MIN, {}),
    rec(now - MIN, {}),
    rec(now - 5 * MIN, fail),
    rec(now - 20 * MIN, { groupId: beta.id, groupName: 'beta' }),
    rec(now - 2 * HOUR, viaAgg),
    rec(now - 3 * HOUR, { ...viaAgg, ...fail }),
    rec(Date.parse('2026-03-09T13:30:00Z'), {}),
    // The previous 24h window.
    rec(Date.parse('2026-03-09T12:59:00Z'), {}),
    rec(now - 24 * HOUR - 2 * MIN, { groupId: beta.id, groupName: 'beta', ...fail }),
    rec(now - 30 * HOUR, {}),
    // In neither 24h window, but within 7 days.
    rec(now - 60 * HOUR, {}),
  ];
  await writeRequestLogs(fx.db, records);
  await seedHourlyStats(fx.db, records);

  await fx.req('POST', `/api/groups/${alpha.id}/keys`, { keys: ['sk-alpha-key-0001', 'sk-alpha-key-0002'] });
  await fx.req('POST', `/api/groups/${beta.id}/keys`, { keys: ['sk-beta-key-0001', 'sk-beta-key-0002'] });
  const keys = await fx.db.apiKey.findMany({ orderBy: { id: 'asc' } });
  const [a1, , b1] = keys;
  if (!a1 || !b1) throw new Error('keys were not added');
  fx.keyPool.setStatus(alpha.id, a1.id, 'invalid');
  fx.keyPool.setStatus(beta.id, b1.id, 'disabled');
});
afterAll(async () => {
  vi.useRealTimers();
  await fx.close();
});

async function summary(range: string): Promise<DashboardSummary> {
  const res = await req<DashboardSummary>('GET', `/api/dashboard/summary?range=${range}`);
  expect(res.status, res.text).toBe(200);
  return dashboardSummarySchema.parse(res.json);
}

async function series(query: string): Promise<Timeseries> {
  const res = await req<Timeseries>('GET', `/api/dashboard/timeseries${query}`);
  expect(res.status, res.text).toBe(200);
  return timeseriesSchema.parse(res.json);
}

describe('rangeWindow', () => {
  it('covers whole hours up to the end of the current one, with the previous window just before', () => {
    expect(rangeWindow('24h', NOW)).toEqual({
      start: new Date('2026-03-09T13:00:00Z'),
      end: new Date('2026-03-10T13:00:00Z'),
      previousStart: new Date('2026-03-08T13:00:00Z'),
    });
    expect(rangeWindow('7d', NOW).start).toEqual(new Date('2026-03-03T13:00:00Z'));
  });
});

describe('GET /api/dashboard/summary', () => {
  it('counts the requests of the range once each, though aggregates also have buckets', async () => {
    const s = await summary('24h');
    expect(s).toMatchObject({ requests: 8, errors: 2, errorRate: 0.25 });
    // 8 requests of 10 prompt / 20 completion tokens: 100/200 would mean the aggregate's buckets were added.
    expect(s.tokens).toEqual({ prompt: 80, completion: 160 });
  });

  it('computes rpm from the request logs of the last ten minutes', async () => {
    expect((await summary('24h')).rpm).toBe(0.4);
  });

  it('compares with the window of the same length just before', async () => {
    const s = await summary('24h');
    expect(s.previous).toEqual({ requests: 3, errors: 1, errorRate: 1 / 3, rpm: 0.1 });
  });

  it('widens to 7 days, with an empty previous window reported as zeros', async () => {
    const s = await summary('7d');
    expect(s).toMatchObject({ requests: 12, errors: 3, errorRate: 0.25 });
    expect(s.previous).toEqual({ requests: 0, errors: 0, errorRate: 0, rpm: 0 });
  });

  it('sums the live key states of the standard groups', async () => {
    expect((await summary('24h')).keys).toEqual({ total: 4, active: 2, cooling: 0, invalid: 1, disabled: 1 });
  });

  it('defaults to 24h and refuses an unknown range', async () => {
    const res = await req<DashboardSummary>('GET', '/api/dashboard/summary');
    expect(res.json.requests).toBe(8);
    const bad = await req<ErrorBody>('GET', '/api/dashboard/summary?range=1y');
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('VALIDATION_FAILED');
  });

  it('requires the admin key', async () => {
    expect((await req('GET', '/api/dashboard/summary', undefined, { auth: false })).status).toBe(401);
  });
});

describe('GET /api/dashboard/timeseries', () => {
  it('returns 24 hourly buckets ending with the current hour, gaps filled with zeros', async () => {
    const { buckets } = await series('?range=24h');
    expect(buckets).toHaveLength(24);
    expect(buckets[0]?.start).toBe('2026-03-09T13:00:00.000Z');
    expect(buckets[23]).toEqual({
      start: '2026-03-10T12:00:00.000Z',
      requests: 5,
      errors: 1,
      promptTokens: 50,
      completionTokens: 100,
      costUsd: 0,
    });
    expect(buckets[0]?.requests).toBe(1);
    expect(buckets.filter((b) => b.requests > 0)).toHaveLength(4);
    expect(buckets[5]).toEqual({
      start: '2026-03-09T18:00:00.000Z',
      requests: 0,
      errors: 0,
      promptTokens: 0,
      completionTokens: 0,
      costUsd: 0,
    });
    expect(buckets.reduce((n, b) => n + b.requests, 0)).toBe(8);
  });

  it('returns daily buckets ending with today for 7d and 30d', async () => {
    const week = (await series('?range=7d')).buckets;
    expect(week.map((b) => b.start)).toEqual(
      ['04', '05', '06', '07', '08', '09', '10'].map((d) => `2026-03-${d}T00:00:00.000Z`),
    );
    expect(week.map((b) => b.requests)).toEqual([0, 0, 0, 0, 1, 4, 7]);
    expect(week.map((b) => b.errors)).toEqual([0, 0, 0, 0, 0, 1, 2]);
    const month = (await series('?range=30d')).buckets;
    expect(month).toHaveLength(30);
    expect(month[0]?.start).toBe('2026-02-09T00:00:00.000Z');
    expect(month.reduce((n, b) => n + b.requests, 0)).toBe(12);
  });

  it("filters by group; an aggregate's id shows the requests made through it", async () => {
    const viaAgg = (await series(`?range=24h&groupId=${agg.id}`)).buckets;
    expect(viaAgg.filter((b) => b.requests > 0).map((b) => [b.start, b.requests, b.errors])).toEqual([
      ['2026-03-10T09:00:00.000Z', 1, 1],
      ['2026-03-10T10:00:00.000Z', 1, 0],
    ]);
    const b = (await series(`?range=24h&groupId=${beta.id}`)).buckets;
    expect(b.reduce((n, x) => n + x.requests, 0)).toBe(1);
    const a = (await series(`?groupId=${alpha.id}`)).buckets;
    expect(a.reduce((n, x) => n + x.requests, 0)).toBe(7);
  });

  it('treats an empty groupId as no filter and refuses a malformed one', async () => {
    expect((await series('?groupId=')).buckets.reduce((n, x) => n + x.requests, 0)).toBe(8);
    const bad = await req<ErrorBody>('GET', '/api/dashboard/timeseries?groupId=abc');
    expect(bad.status).toBe(400);
  });
});
