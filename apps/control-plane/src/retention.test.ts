import type { RequestLogRecord } from '@keyway/contracts';
import { writeRequestLogs } from '@keyway/db';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pruneAudit, pruneLogs, runRetention } from './retention';
import type { Fixture } from './testing/fixture';
import { createFixture } from './testing/fixture';
import { logRecord } from './testing/log-record';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const DAY = 86_400_000;

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

let seq = 0;
/** A request `daysAgo` days before NOW, in a group of its own so each one has its own hourly bucket. */
function rec(daysAgo: number): RequestLogRecord {
  seq++;
  return logRecord(seq, {
    requestId: `req-${daysAgo}d-${seq}`,
    time: new Date(NOW.getTime() - daysAgo * DAY).toISOString(),
    groupId: seq,
    groupName: `g${seq}`,
    durationMs: 1,
    ttfbMs: null,
  });
}

async function logAges(): Promise<number[]> {
  const rows = await fx.db.requestLog.findMany({ orderBy: { time: 'desc' } });
  return rows.map((r) => Math.round((NOW.getTime() - r.time.getTime()) / DAY));
}

async function statCount(): Promise<number> {
  return fx.db.hourlyStat.count();
}

describe('pruneLogs', () => {
  it('deletes request logs past the retention only, and keeps their hourly stats', async () => {
    await writeRequestLogs(fx.db, [rec(1), rec(6.9), rec(7.1), rec(30)]);
    const result = await pruneLogs(fx.db, { retentionDays: 7, now: NOW });
    expect(result).toEqual({ requestLogs: 2, hourlyStats: 0 });
    expect(await logAges()).toEqual([1, 7]);
    expect(await statCount()).toBe(4);
  });

  it('deletes in batches until every old row is gone', async () => {
    await writeRequestLogs(fx.db, [rec(10), rec(11), rec(12), rec(13), rec(14), rec(15), rec(16), rec(1)]);
    const result = await pruneLogs(fx.db, { retentionDays: 7, now: NOW, batchSize: 3 });
    expect(result.requestLogs).toBe(7);
    expect(await logAges()).toEqual([1]);
  });

  it('keeps request logs forever with retentionDays 0', async () => {
    await writeRequestLogs(fx.db, [rec(1), rec(3000)]);
    expect(await pruneLogs(fx.db, { retentionDays: 0, now: NOW })).toEqual({
      requestLogs: 0,
      hourlyStats: 1,
    });
    expect(await logAges()).toEqual([1, 3000]);
  });

  it('deletes hourly stats past 400 days by default, or past hourlyRetentionDays', async () => {
    await writeRequestLogs(fx.db, [rec(1), rec(100), rec(399), rec(401), rec(500)]);
    expect((await pruneLogs(fx.db, { retentionDays: 0, now: NOW })).hourlyStats).toBe(2);
    expect(await statCount()).toBe(3);
    expect(
      (await pruneLogs(fx.db, { retentionDays: 0, hourlyRetentionDays: 30, now: NOW })).hourlyStats,
    ).toBe(2);
    const left = await fx.db.hourlyStat.findMany();
    expect(left.map((s) => s.time.getTime())).toEqual([NOW.getTime() - DAY]);
  });
});

describe('pruneAudit', () => {
  it('deletes audit entries older than a year by default', async () => {
    for (const daysAgo of [1, 364, 366, 1000])
      await fx.db.auditLog.create({
        data: {
          time: new Date(NOW.getTime() - daysAgo * DAY),
          action: `a${daysAgo}`,
          target: 't',
          details: {},
        },
      });
    expect(await pruneAudit(fx.db, { now: NOW, batchSize: 1 })).toBe(2);
    const left = await fx.db.auditLog.findMany({ orderBy: { time: 'desc' } });
    expect(left.map((e) => e.action)).toEqual(['a1', 'a364']);
  });
});

describe('runRetention', () => {
  it('uses the stored request log retention and the audit default', async () => {
    await fx.db.setting.create({ data: { key: 'requestLogRetentionDays', value: '2' } });
    await writeRequestLogs(fx.db, [rec(1), rec(3)]);
    await fx.db.auditLog.create({
      data: { time: new Date(NOW.getTime() - 400 * DAY), action: 'old', target: 't', details: {} },
    });
    expect(await runRetention(fx.db, NOW)).toEqual({ requestLogs: 1, hourlyStats: 0, auditLogs: 1 });
    expect(await logAges()).toEqual([1]);
  });
});
