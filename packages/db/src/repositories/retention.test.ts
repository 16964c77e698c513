import type { RequestLogRecord } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DbClient } from '../client';
import { createTestDatabase, type TestDatabase } from '../testing/databases';
import { logRecord } from '../testing/records';
import { writeRequestLogs } from './request-logs';
import { pruneAudit, pruneLogs, runRetention } from './retention';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const DAY = 86_400_000;

let t: TestDatabase;
let db: DbClient;
beforeAll(async () => {
  t = await createTestDatabase('sqlite');
  db = t.conn.prisma;
});
afterAll(() => t.close());
beforeEach(async () => {
  await db.$transaction([
    db.requestLog.deleteMany(),
    db.hourlyStat.deleteMany(),
    db.auditLog.deleteMany(),
    db.usageBatchApplied.deleteMany(),
    db.setting.deleteMany(),
  ]);
});

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

/**
 * Stores the records and, as a gateway's usage batch would, one hourly bucket per record (hourly stats come from
 * usage batches, not from log rows).
 */
async function seed(records: RequestLogRecord[]): Promise<void> {
  await writeRequestLogs(db, records);
  for (const r of records) {
    const hour = Math.floor(Date.parse(r.time) / 3_600_000) * 3_600_000;
    await db.hourlyStat.create({
      data: { time: new Date(hour), groupId: r.groupId, model: r.model ?? '', requests: 1 },
    });
  }
}

async function logAges(): Promise<number[]> {
  const rows = await db.requestLog.findMany({ orderBy: { time: 'desc' } });
  return rows.map((r) => Math.round((NOW.getTime() - r.time.getTime()) / DAY));
}

async function statCount(): Promise<number> {
  return db.hourlyStat.count();
}

describe('pruneLogs', () => {
  it('deletes request logs past the retention only, and keeps their hourly stats', async () => {
    await seed([rec(1), rec(6.9), rec(7.1), rec(30)]);
    const result = await pruneLogs(db, { retentionDays: 7, now: NOW });
    expect(result).toEqual({ requestLogs: 2, hourlyStats: 0, usageBatches: 0 });
    expect(await logAges()).toEqual([1, 7]);
    expect(await statCount()).toBe(4);
  });

  it('deletes in batches until every old row is gone', async () => {
    await seed([rec(10), rec(11), rec(12), rec(13), rec(14), rec(15), rec(16), rec(1)]);
    const result = await pruneLogs(db, { retentionDays: 7, now: NOW, batchSize: 3 });
    expect(result.requestLogs).toBe(7);
    expect(await logAges()).toEqual([1]);
  });

  it('keeps request logs forever with retentionDays 0', async () => {
    await seed([rec(1), rec(3000)]);
    expect(await pruneLogs(db, { retentionDays: 0, now: NOW })).toEqual({
      requestLogs: 0,
      hourlyStats: 1,
      usageBatches: 0,
    });
    expect(await logAges()).toEqual([1, 3000]);
  });

  it('deletes hourly stats past 400 days by default, or past hourlyRetentionDays', async () => {
    await seed([rec(1), rec(100), rec(399), rec(401), rec(500)]);
    expect((await pruneLogs(db, { retentionDays: 0, now: NOW })).hourlyStats).toBe(2);
    expect(await statCount()).toBe(3);
    expect((await pruneLogs(db, { retentionDays: 0, hourlyRetentionDays: 30, now: NOW })).hourlyStats).toBe(
      2,
    );
    const left = await db.hourlyStat.findMany();
    expect(left.map((s) => s.time.getTime())).toEqual([NOW.getTime() - DAY]);
  });

  it('forgets applied usage-batch ids after 7 days, whatever the log retention', async () => {
    for (const [id, daysAgo] of [
      ['recent', 6.9],
      ['old', 7.1],
      ['older', 30],
    ] as const)
      await db.usageBatchApplied.create({ data: { id, time: new Date(NOW.getTime() - daysAgo * DAY) } });
    expect((await pruneLogs(db, { retentionDays: 0, now: NOW, batchSize: 1 })).usageBatches).toBe(2);
    expect((await db.usageBatchApplied.findMany()).map((b) => b.id)).toEqual(['recent']);
  });
});

describe('pruneAudit', () => {
  it('deletes audit entries older than a year by default', async () => {
    for (const daysAgo of [1, 364, 366, 1000])
      await db.auditLog.create({
        data: {
          time: new Date(NOW.getTime() - daysAgo * DAY),
          action: `a${daysAgo}`,
          target: 't',
          details: {},
        },
      });
    expect(await pruneAudit(db, { now: NOW, batchSize: 1 })).toBe(2);
    const left = await db.auditLog.findMany({ orderBy: { time: 'desc' } });
    expect(left.map((e) => e.action)).toEqual(['a1', 'a364']);
  });
});

describe('runRetention', () => {
  it('uses the stored request log retention and the audit default', async () => {
    await db.setting.create({ data: { key: 'requestLogRetentionDays', value: '2' } });
    await seed([rec(1), rec(3)]);
    await db.auditLog.create({
      data: { time: new Date(NOW.getTime() - 400 * DAY), action: 'old', target: 't', details: {} },
    });
    expect(await runRetention(db, { now: NOW })).toEqual({
      requestLogs: 1,
      hourlyStats: 0,
      usageBatches: 0,
      auditLogs: 1,
    });
    expect(await logAges()).toEqual([1]);
  });

  it('uses the retention it is given over the stored one', async () => {
    await db.setting.create({ data: { key: 'requestLogRetentionDays', value: '2' } });
    await seed([rec(1), rec(3), rec(9)]);
    expect((await runRetention(db, { now: NOW, retentionDays: 5 })).requestLogs).toBe(1);
    expect(await logAges()).toEqual([1, 3]);
  });

  it('prunes hourly stats past the stored statsRetentionDays', async () => {
    await db.setting.create({ data: { key: 'statsRetentionDays', value: '10' } });
    await seed([rec(1), rec(20)]);
    expect(await runRetention(db, { now: NOW, retentionDays: 0 })).toMatchObject({ hourlyStats: 1 });
    expect(await statCount()).toBe(1);
  });

  it('falls back to the default retention when the stored value is unreadable', async () => {
    await db.setting.create({ data: { key: 'requestLogRetentionDays', value: '"forever"' } });
    await seed([rec(1), rec(6), rec(8)]);
    // The built-in default is 7 days.
    expect((await runRetention(db, { now: NOW })).requestLogs).toBe(1);
  });
});
