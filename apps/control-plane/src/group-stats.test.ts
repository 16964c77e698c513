import type { Group, GroupStats, RequestLogRecord } from '@keyway/contracts';
import { groupStatsSchema } from '@keyway/contracts';
import { writeRequestLogs } from '@keyway/db';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from './app';
import { groupStatsRoutes } from './group-stats';
import type { ErrorBody, Fixture, Requester } from './testing/fixture';
import { createFixture, createRequester, standardGroup } from './testing/fixture';
import { logRecord } from './testing/log-record';
import { recordUsage } from './testing/hourly-stats';

const NOW = new Date('2026-03-10T12:34:56.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let fx: Fixture;
let req: Requester;
let alpha: Group;
let agg: Group;

let seq = 0;
function rec(ago: number, over: Partial<RequestLogRecord> = {}): RequestLogRecord {
  seq++;
  return logRecord(seq, {
    time: new Date(NOW.getTime() - ago).toISOString(),
    groupId: alpha.id,
    groupName: alpha.name,
    ...over,
  });
}

const fail = { success: false, statusCode: 500 };

beforeAll(async () => {
  // Only Date is faked: the windows are computed from a fixed "now", while timers and I/O run for real.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  fx = await createFixture();
  const app = createApp(fx.deps);
  // The mount app.ts gets; once it has it, that one answers first (the same factory either way).
  app.route('/api/groups', groupStatsRoutes());
  req = createRequester(app);
  const created = await fx.req<Group>('POST', '/api/groups', standardGroup('alpha'));
  alpha = created.json;
  agg = (
    await fx.req<Group>('POST', '/api/groups', {
      name: 'agg',
      type: 'aggregate',
      channel: 'openai',
      subGroups: [{ groupId: alpha.id }],
    })
  ).json;
  const records = [
    rec(HOUR),
    rec(2 * HOUR, fail),
    rec(5 * HOUR, { parentGroupId: agg.id, parentGroupName: 'agg', model: 'gpt-4o-mini' }),
    rec(3 * DAY),
    rec(10 * DAY, fail),
    rec(40 * DAY),
  ];
  // The counters come from usage batches, not from the log rows (requestLogging may be off).
  await writeRequestLogs(fx.db, records);
  await recordUsage(fx.db, records);
  await fx.req('POST', `/api/groups/${alpha.id}/keys`, { keys: ['sk-alpha-key-0001', 'sk-alpha-key-0002'] });
  const [first] = await fx.db.apiKey.findMany({ orderBy: { id: 'asc' } });
  if (!first) throw new Error('no key');
  fx.keyPool.setStatus(alpha.id, first.id, 'invalid');
});
afterAll(async () => {
  vi.useRealTimers();
  await fx.close();
});

async function stats(id: number): Promise<GroupStats> {
  const res = await req<GroupStats>('GET', `/api/groups/${id}/stats`);
  expect(res.status, res.text).toBe(200);
  return groupStatsSchema.parse(res.json);
}

describe('GET /api/groups/{id}/stats', () => {
  it('counts requests and failures of the last 24 hours, 7 days and 30 days', async () => {
    expect((await stats(alpha.id)).requests).toEqual({
      '24h': { total: 3, failed: 1 },
      '7d': { total: 4, failed: 1 },
      '30d': { total: 5, failed: 2 },
    });
  });

  it('gives the live key counts of the group', async () => {
    expect((await stats(alpha.id)).keys).toEqual({
      total: 2,
      active: 1,
      cooling: 0,
      invalid: 1,
      disabled: 0,
    });
  });

  it('counts for an aggregate the requests made through it', async () => {
    expect((await stats(agg.id)).requests).toEqual({
      '24h': { total: 1, failed: 0 },
      '7d': { total: 1, failed: 0 },
      '30d': { total: 1, failed: 0 },
    });
  });

  it('answers 404 for an unknown or malformed group id', async () => {
    for (const id of ['424242', 'abc', '0']) {
      const res = await req<ErrorBody>('GET', `/api/groups/${id}/stats`);
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe('NOT_FOUND');
    }
  });

  it('leaves the group routes under the same prefix working', async () => {
    const res = await req<Group>('GET', `/api/groups/${alpha.id}`);
    expect(res.status).toBe(200);
    expect(res.json.name).toBe('alpha');
  });
});
