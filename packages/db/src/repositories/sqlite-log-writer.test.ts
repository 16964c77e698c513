import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient } from '../client';
import type { DbConnection } from '../client';
import { applyMigrations } from '../migrate';
import { USAGE_LAST, accessKeyData, logRecord as record, usageBatch } from '../testing/records';
import { groupData } from '../testing/scenario';
import { writeRequestLogs } from './request-logs';
import { createSqliteLogWriter, createSqliteWriter } from '../sqlite-writer';
import { applyUsageBatch } from './usage';

describe('the SQLite fast log writer', () => {
  let dir: string;
  let fast: DbConnection;
  let slow: DbConnection;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-logwriter-'));
    for (const name of ['fast', 'slow']) await applyMigrations(`file:${join(dir, `${name}.db`)}`);
    fast = createPrismaClient(`file:${join(dir, 'fast.db')}`);
    slow = createPrismaClient(`file:${join(dir, 'slow.db')}`);
    for (const c of [fast, slow]) {
      const g = await c.prisma.group.create({ data: groupData('g') });
      await c.prisma.apiKey.create({
        data: { id: 9, groupId: g.id, keyValue: 'v', keyHash: 'h', keyMasked: 'm' },
      });
    }
  });
  afterAll(async () => {
    await fast.close();
    await slow.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes exactly what the Prisma writer writes, readable and filterable through Prisma', async () => {
    const batch = [
      record(1, { keyId: 9 }),
      record(2, { keyId: 9, success: false, statusCode: 500, error: 'boom' }),
      record(3, { parentGroupId: 5, parentGroupName: 'agg', promptTokens: null }),
      record(5, { cachedTokens: 3, costUsd: 0.000125, accessKeyId: 4, accessKeyName: 'team-a' }),
      // Not toISOString()'s shape (no milliseconds, an offset): re-encoded through a Date like Prisma does.
      record(6, { time: '2026-11-26T08:30:06+01:00', translatedFrom: 'anthropic', requestBody: '{"a":1}' }),
      record(7, { time: '2026-11-26T07:30:07Z', stream: true, ttfbMs: null }),
      // Attacker-shaped text is bound, never spliced: quotes, CR/LF and non-ASCII arrive as sent.
      record(8, {
        error: "line 1\r\nline 2'); DROP TABLE request_logs; -- ü 𝄞",
        requestPath: '/v1/chat/completions?q=%0d%0a\'"',
        model: 'gpt-x\nInjected: header',
      }),
    ];
    const writer = createSqliteLogWriter(`file:${join(dir, 'fast.db')}`);
    await writer.write(batch);
    await writer.write([record(4, { keyId: 9 })]);
    await writer.close();
    await writeRequestLogs(slow.prisma, batch);
    await writeRequestLogs(slow.prisma, [record(4, { keyId: 9 })]);

    const read = async (c: DbConnection) => ({
      logs: await c.prisma.requestLog.findMany({ orderBy: { id: 'asc' } }),
      window: await c.prisma.requestLog.count({
        where: { time: { gte: new Date(Date.UTC(2026, 10, 26, 7, 30, 2)) } },
      }),
    });
    const a = await read(fast);
    const b = await read(slow);
    expect(a.logs).toEqual(b.logs);
    expect(a.window).toBe(7);
    expect(a.logs.find((l) => l.model === 'gpt-x\nInjected: header')?.error).toBe(
      "line 1\r\nline 2'); DROP TABLE request_logs; -- ü 𝄞",
    );
    expect(a.logs.find((l) => l.accessKeyName === 'team-a')).toMatchObject({
      cachedTokens: 3,
      costUsd: 0.000125,
    });
    expect(a.logs.find((l) => l.translatedFrom === 'anthropic')?.time).toEqual(
      new Date(Date.UTC(2026, 10, 26, 7, 30, 6)),
    );
  });

  it('applies a usage batch exactly as applyUsageBatch does through Prisma', async () => {
    const ids = async (c: DbConnection) => ({
      groupId: (await c.prisma.group.findFirstOrThrow()).id,
      keyId: 9,
      accessKeyId: (await c.prisma.accessKey.create({ data: accessKeyData('parity') })).id,
    });
    const writer = createSqliteWriter(`file:${join(dir, 'fast.db')}`);
    await writer.applyUsage(usageBatch('parity-1', await ids(fast)));
    await writer.close();
    await applyUsageBatch(slow.prisma, usageBatch('parity-1', await ids(slow)));

    const read = async (c: DbConnection) => ({
      hours: await c.prisma.hourlyStat.findMany({
        orderBy: [{ groupId: 'asc' }, { accessKeyId: 'asc' }],
        omit: { id: true },
      }),
      key: await c.prisma.apiKey.findUnique({
        where: { id: 9 },
        select: { requestCount: true, lastUsedAt: true },
      }),
      accessKey: await c.prisma.accessKey.findFirstOrThrow({
        select: { totalRequests: true, totalTokens: true, totalCostUsd: true, lastUsedAt: true },
      }),
      batches: await c.prisma.usageBatchApplied.findMany({ select: { id: true } }),
    });
    const a = await read(fast);
    const b = await read(slow);
    expect(a).toEqual(b);
    expect(a.key).toEqual({ requestCount: 2, lastUsedAt: new Date(USAGE_LAST) });
    expect(a.hours).toHaveLength(2);
  });
});
