import type { RequestLog, RequestLogRecord } from '@keyway/contracts';
import { writeRequestLogs } from '@keyway/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody, Fixture } from './testing/fixture';
import { createFixture } from './testing/fixture';
import { DESCRIBED, logRecord } from './testing/log-record';

let fx: Fixture;

interface LogPage {
  items: RequestLog[];
  total: number;
  page: number;
  pageSize: number;
}

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const MIN = 60_000;

function record(n: number, over: Partial<RequestLogRecord>): RequestLogRecord {
  return logRecord(n, {
    ...DESCRIBED,
    time: new Date(T0 + n * MIN).toISOString(),
    groupId: 1,
    groupName: 'openai-main',
    durationMs: 120.4,
    ttfbMs: 40.6,
    requestBody: '{"secret":"request body"}',
    ...over,
  });
}

// Inserted out of time order on purpose: the API sorts, not the insert order.
const RECORDS: RequestLogRecord[] = [
  record(3, {
    statusCode: 429,
    success: false,
    error: 'upstream rate limited',
    retries: 2,
    accessKeyId: 7,
    accessKeyName: 'team-a',
    cachedTokens: 4,
    costUsd: 0.000235,
    attempts: [
      {
        keyId: 11,
        key: 'sk-te…wxyz',
        upstreamUrl: 'https://api.openai.example/v1',
        statusCode: 429,
        class: 'rate',
        durationMs: 12,
        error: 'rate limited',
      },
    ],
  }),
  record(1, {}),
  record(5, { groupId: 2, groupName: 'claude', model: 'claude-sonnet', keyId: 21 }),
  record(2, { model: 'gpt-4o-mini', stream: true }),
  record(4, {
    groupId: 3,
    groupName: 'sub-a',
    parentGroupId: 9,
    parentGroupName: 'agg',
    statusCode: 502,
    success: false,
    error: 'connect ECONNREFUSED',
    model: null,
    keyId: null,
    keyMasked: null,
    ttfbMs: null,
    promptTokens: null,
    completionTokens: null,
  }),
];

beforeAll(async () => {
  fx = await createFixture();
  await writeRequestLogs(fx.db, RECORDS);
});
afterAll(() => fx.close());

async function logs(query = ''): Promise<LogPage> {
  const res = await fx.req<LogPage>('GET', `/api/logs${query}`);
  expect(res.status, res.text).toBe(200);
  return res.json;
}

const ids = (p: LogPage) => p.items.map((l) => l.requestId);

describe('GET /api/logs', () => {
  it('lists request logs newest first with the API shape', async () => {
    const page = await logs();
    expect(page).toMatchObject({ total: 5, page: 1, pageSize: 50 });
    expect(ids(page)).toEqual(['req-5', 'req-4', 'req-3', 'req-2', 'req-1']);
    const first = page.items.find((l) => l.requestId === 'req-3');
    expect(first).toEqual({
      id: '00000000-0000-4000-8000-000000000003',
      requestId: 'req-3',
      time: new Date(T0 + 3 * MIN).toISOString(),
      groupId: 1,
      groupName: 'openai-main',
      parentGroupName: null,
      keyId: 11,
      key: 'sk-te…wxyz',
      proxyKey: 'sk-pr…0001',
      model: 'gpt-4o',
      statusCode: 429,
      success: false,
      durationMs: 120,
      ttfbMs: 41,
      stream: false,
      retries: 2,
      attempts: RECORDS[0]?.attempts,
      error: 'upstream rate limited',
      clientIp: '10.0.0.1',
      promptTokens: 10,
      completionTokens: 20,
      cachedTokens: 4,
      costUsd: 0.000235,
      accessKeyId: 7,
      accessKeyName: 'team-a',
      translatedFrom: null,
    });
    // A bare proxy key's request names no access key.
    expect(page.items.find((l) => l.requestId === 'req-1')).toMatchObject({
      accessKeyId: null,
      accessKeyName: null,
    });
  });

  it('filters by access key', async () => {
    expect(ids(await logs('?accessKeyId=7'))).toEqual(['req-3']);
    expect((await logs('?accessKeyId=8')).total).toBe(0);
    const bad = await fx.req<ErrorBody>('GET', '/api/logs?accessKeyId=0');
    expect(bad.status).toBe(400);
    expect((await fx.req('GET', '/api/logs?accessKeyId=7%0d%0aX-Injected:%201')).status).toBe(400);
  });

  it('never returns the stored request body', async () => {
    const res = await fx.req('GET', '/api/logs');
    expect(res.text).not.toContain('request body');
  });

  it('filters by group, including requests a sub-group served for an aggregate', async () => {
    expect(ids(await logs('?groupId=1'))).toEqual(['req-3', 'req-2', 'req-1']);
    expect(ids(await logs('?groupId=2'))).toEqual(['req-5']);
    expect(ids(await logs('?groupId=9'))).toEqual(['req-4']);
    expect(ids(await logs('?groupId=3'))).toEqual(['req-4']);
    expect((await logs('?groupId=77')).total).toBe(0);
  });

  it('filters by result', async () => {
    expect(ids(await logs('?result=error'))).toEqual(['req-4', 'req-3']);
    expect(ids(await logs('?result=success'))).toEqual(['req-5', 'req-2', 'req-1']);
  });

  it('filters by status code', async () => {
    expect(ids(await logs('?statusCode=429'))).toEqual(['req-3']);
    expect(ids(await logs('?statusCode=200'))).toEqual(['req-5', 'req-2', 'req-1']);
    expect((await logs('?statusCode=0')).total).toBe(0);
  });

  it('filters by exact model', async () => {
    expect(ids(await logs('?model=gpt-4o'))).toEqual(['req-3', 'req-1']);
    expect(ids(await logs('?model=gpt-4o-mini'))).toEqual(['req-2']);
  });

  it('filters by key id', async () => {
    expect(ids(await logs('?keyId=21'))).toEqual(['req-5']);
  });

  it('searches request ids exactly, and errors and models by substring', async () => {
    expect(ids(await logs('?search=req-2'))).toEqual(['req-2']);
    expect(ids(await logs('?search=ECONNREFUSED'))).toEqual(['req-4']);
    expect(ids(await logs('?search=sonnet'))).toEqual(['req-5']);
    expect(ids(await logs('?search=gpt-4o-mini'))).toEqual(['req-2']);
    expect((await logs('?search=nothing-like-this')).total).toBe(0);
  });

  it('combines search with the group filter', async () => {
    expect(ids(await logs('?groupId=1&search=rate'))).toEqual(['req-3']);
    expect(ids(await logs('?groupId=2&search=rate'))).toEqual([]);
  });

  it('filters by a time window', async () => {
    const from = encodeURIComponent(new Date(T0 + 2 * MIN).toISOString());
    const to = encodeURIComponent(new Date(T0 + 4 * MIN).toISOString());
    expect(ids(await logs(`?from=${from}&to=${to}`))).toEqual(['req-4', 'req-3', 'req-2']);
  });

  it('paginates with page, pageSize and total', async () => {
    const p1 = await logs('?pageSize=2');
    const p2 = await logs('?pageSize=2&page=2');
    const p3 = await logs('?pageSize=2&page=3');
    expect(p1).toMatchObject({ total: 5, page: 1, pageSize: 2 });
    expect([...ids(p1), ...ids(p2), ...ids(p3)]).toEqual(['req-5', 'req-4', 'req-3', 'req-2', 'req-1']);
    expect((await logs('?pageSize=2&page=4')).items).toEqual([]);
  });

  it('does not treat an empty statusCode parameter as a filter for status 0', async () => {
    const res = await fx.req<LogPage>('GET', '/api/logs?statusCode=');
    expect(res.status === 400 || res.json.total === RECORDS.length).toBe(true);
  });

  it.each([
    '?result=maybe',
    '?pageSize=0',
    '?pageSize=1001',
    '?page=0',
    '?groupId=abc',
    '?groupId=-1',
    '?statusCode=1000',
    '?from=yesterday',
  ])('refuses the query %s with 400 VALIDATION_FAILED', async (query) => {
    const res = await fx.req<ErrorBody>('GET', `/api/logs${query}`);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('VALIDATION_FAILED');
    expect(res.json.error.details?.length).toBeGreaterThan(0);
  });
});
