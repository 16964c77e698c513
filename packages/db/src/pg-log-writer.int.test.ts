import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient } from './client';
import type { DbConnection } from './client';
import { applyMigrations } from './migrate';
import { createPgLogWriter } from './pg-log-writer';
import { writeRequestLogs } from './repositories/request-logs';
import { logRecord as record } from './testing/records';
import { createTempPostgresDatabase, serviceAvailable, type TempDatabase } from './testing/services';

const available = await serviceAvailable('postgresql');

describe.skipIf(!available)('the PostgreSQL fast log writer', () => {
  const dbs: TempDatabase[] = [];
  let fast: DbConnection;
  let slow: DbConnection;
  let fastUrl: string;

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) dbs.push(await createTempPostgresDatabase());
    const [a, b] = dbs as [TempDatabase, TempDatabase];
    fastUrl = a.url;
    for (const d of dbs) await applyMigrations(d.url);
    fast = createPrismaClient(a.url);
    slow = createPrismaClient(b.url);
    for (const c of [fast, slow]) {
      const g = await c.prisma.group.create({
        data: {
          name: 'g',
          channel: 'openai',
          upstreams: [],
          proxyKeys: [],
          paramOverrides: {},
          modelRedirects: {},
          headerRules: [],
          config: {},
        },
      });
      await c.prisma.apiKey.create({
        data: { id: 9, groupId: g.id, keyValue: 'v', keyHash: 'h', keyMasked: 'm' },
      });
    }
  }, 60_000);
  afterAll(async () => {
    await fast?.close();
    await slow?.close();
    for (const d of dbs) await d.drop();
  });

  const read = async (c: DbConnection) => ({
    logs: await c.prisma.requestLog.findMany({ orderBy: { id: 'asc' } }),
    // Log rows feed no counters (usage batches do): these stay empty.
    hours: await c.prisma.hourlyStat.count(),
    key: await c.prisma.apiKey.findUnique({ where: { id: 9 }, select: { requestCount: true } }),
  });

  it('writes exactly what the Prisma writer writes, and a retried batch changes nothing', async () => {
    const batch = [
      record(1, { keyId: 9 }),
      record(2, { keyId: 9, success: false, statusCode: 500, error: 'boom\u0000' }),
      record(3, { parentGroupId: 5, parentGroupName: 'agg', promptTokens: null }),
      record(8, { cachedTokens: 3, costUsd: 0.000125, accessKeyId: 4, accessKeyName: 'team-a' }),
    ];
    const writer = createPgLogWriter(fastUrl);
    expect(await writer.write(batch)).toEqual({ written: 4, duplicates: 0 });
    expect(await writer.write([record(4, { keyId: 9 })])).toEqual({ written: 1, duplicates: 0 });
    await writeRequestLogs(slow.prisma, batch);
    await writeRequestLogs(slow.prisma, [record(4, { keyId: 9 })]);
    const a = await read(fast);
    expect(a).toEqual(await read(slow));
    expect(a).toMatchObject({ hours: 0, key: { requestCount: 0 } });
    expect(a.logs.find((l) => l.id === batch[3]?.id)).toMatchObject({
      costUsd: 0.000125,
      accessKeyName: 'team-a',
    });

    // The queue retries a job whose transaction committed, or two workers run it: nothing doubles.
    expect(await writer.write([...batch, record(5)])).toEqual({ written: 1, duplicates: 4 });
    const second = createPgLogWriter(fastUrl);
    const [again, other] = await Promise.all([
      writer.write([record(6), record(7)]),
      second.write([record(6), record(7)]),
    ]);
    expect(again.written + other.written).toBe(2);
    await Promise.all([writer.close(), second.close()]);
    const after = await read(fast);
    expect(after.logs).toHaveLength(8);
  });
  it('writes batches of many strings of COPY text through reused buffers: every row as sent, none mixed up', async () => {
    const writer = createPgLogWriter(fastUrl);
    // 70 rows = three strings of COPY text; then a smaller batch into the same (reused) buffer, whose tail still
    // holds the first batch's bytes; then one larger than the buffer's first size (a new buffer).
    const big = Array.from({ length: 70 }, (_, i) => record(100 + i, { error: `row ${i} …` }));
    const small = Array.from({ length: 3 }, (_, i) => record(200 + i, { model: `m-${i}` }));
    const huge = [record(300, { requestBody: `{"text":"${'é'.repeat(200_000)}"}` }), record(301)];
    for (const batch of [big, small, huge])
      expect(await writer.write(batch)).toEqual({ written: batch.length, duplicates: 0 });
    await writer.close();
    const stored = await fast.prisma.requestLog.findMany({
      where: { id: { in: [...big, ...small, ...huge].map((r) => r.id) } },
      orderBy: { id: 'asc' },
    });
    expect(stored).toHaveLength(75);
    const byId = new Map(stored.map((r) => [r.id, r]));
    for (const r of [...big, ...small, ...huge])
      expect(byId.get(r.id), r.id).toMatchObject({
        error: r.error,
        model: r.model,
        keyMasked: r.keyMasked,
        proxyKeyMasked: r.proxyKeyMasked,
        requestBody: r.requestBody,
      });
  });
  it('keeps tabs, newlines, backslashes, quotes and non-ASCII text as sent, and drops NUL from every field', async () => {
    const writer = createPgLogWriter(fastUrl);
    const odd = record(20, {
      groupName: 'tab\there',
      model: 'line\nbreak \\ back "quoted" \u0000nul',
      error: 'crlf\r\nend\\',
      clientIp: '\\N',
      requestPath: '/v1/ünïcödé/😀',
      requestBody: '{"content":"a\\"b\\\\c\\u0000\ttab\u0000"}',
      attempts: [
        {
          keyId: null,
          key: 'k\\ey',
          upstreamUrl: 'http://u/\t',
          statusCode: 500,
          class: 'upstream',
          durationMs: 1.5,
          error: 'nul\u0000 and \\u0000 text',
        },
      ],
      // not in UTC: stored as the UTC wall-clock time, like every other time
      time: '2026-11-26T15:30:20.000+08:00',
    });
    expect(await writer.write([odd])).toEqual({ written: 1, duplicates: 0 });
    // The same id twice in one batch: written once (by the INSERT that COPY falls back to, which drops NUL too).
    const twice = record(21, { model: 'twice\u0000' });
    expect(await writer.write([twice, twice])).toEqual({ written: 1, duplicates: 1 });
    await writer.close();
    const row = await fast.prisma.requestLog.findUniqueOrThrow({ where: { id: odd.id } });
    expect(row).toMatchObject({
      groupName: 'tab\there',
      model: 'line\nbreak \\ back "quoted" nul',
      error: 'crlf\r\nend\\',
      clientIp: '\\N',
      requestPath: '/v1/ünïcödé/😀',
      requestBody: '{"content":"a\\"b\\\\c\\u0000\ttab"}',
      time: new Date(Date.UTC(2026, 10, 26, 7, 30, 20)),
    });
    expect(row.attempts).toEqual([{ ...odd.attempts[0], key: 'k\\ey', error: 'nul and \\u0000 text' }]);
    expect(
      await fast.prisma.requestLog.findMany({ where: { id: twice.id }, select: { model: true } }),
    ).toEqual([{ model: 'twice' }]);
  });
  it('rejects a batch PostgreSQL refuses with its own error, writes none of it, and goes on with the next', async () => {
    const writer = createPgLogWriter(fastUrl);
    const tooBig = record(30, { statusCode: 2 ** 40 });
    await expect(writer.write([record(31), tooBig])).rejects.toMatchObject({ code: '22003' });
    expect(await fast.prisma.requestLog.count({ where: { id: record(31).id } })).toBe(0);
    expect(await writer.write([record(31)])).toEqual({ written: 1, duplicates: 0 });
    await writer.close();
  });
});
