import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as WorkerThreads from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPrismaClient } from './client';
import type { DbConnection } from './client';
import { applyMigrations } from './migrate';
import { addKeys } from './repositories/keys';
import type { NewPoolKey } from './repositories/keys';
import { pruneLogs, runRetention } from './repositories/retention';
import { logRowText } from '@keyway/contracts';
import { createSqliteWriter } from './sqlite-writer';
import { BULK_CACHE_KIB, STEADY_CACHE_KIB, openSqliteOwner } from './sqlite-writer-owner';
import type { SqliteWriterThread } from './sqlite-writer';
import { USAGE_LAST, accessKeyData, logRecord, requestLogRecord, usageBatch } from './testing/records';
import { groupData } from './testing/scenario';

// Every worker thread the code under test starts (the writer's, and any other), counted.
const workers = vi.hoisted(() => ({ started: 0 }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const actual = await importOriginal<typeof WorkerThreads>();
  class CountedWorker extends actual.Worker {
    constructor(...args: ConstructorParameters<typeof actual.Worker>) {
      super(...args);
      workers.started++;
    }
  }
  return { ...actual, Worker: CountedWorker };
});

const DAY = 86_400_000;
const cipher = {
  seal: (plain: string) => `sealed:${plain}`,
  hash: (plain: string) => createHash('sha256').update(plain).digest('hex'),
};

function fakePool() {
  const keys = new Map<number, NewPoolKey>();
  return {
    keys,
    health: (_groupId: number, keyId: number) => keys.get(keyId),
    add: (_groupId: number, added: readonly NewPoolKey[]) => {
      for (const k of added) keys.set(k.id, k);
      return Promise.resolve();
    },
  };
}

/** Rows of request_logs, read by a connection of its own (as another process would). */
function countLogs(file: string): number {
  const reader = new Database(file, { readonly: true });
  try {
    return (reader.prepare('SELECT count(*) AS n FROM request_logs').get() as { n: number }).n;
  } finally {
    reader.close();
  }
}

/** Request logs of ~1 KB each, `count` of them from id `from`: a few MB of write-ahead log. */
function bulkyLogs(from: number, count: number) {
  return Array.from({ length: count }, (_, i) =>
    requestLogRecord(from + i, {
      time: new Date().toISOString(),
      groupId: 1,
      groupName: 'g',
      error: 'e'.repeat(500),
    }),
  );
}

/** Waits (5 s at most) until the database file is larger than `bytes`: pages were checkpointed into it. */
async function fileGrowsPast(file: string, bytes: number): Promise<boolean> {
  const grown = () => statSync(file).size > bytes;
  const deadline = Date.now() + 5000;
  while (!grown() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return grown();
}

/** Counts event-loop turns (timer ticks) while `work` runs: 0 means the work held the loop throughout. */
async function loopTurnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  const timer = setInterval(() => turns++, 1);
  try {
    return { result: await work(), turns };
  } finally {
    clearInterval(timer);
  }
}

describe('the SQLite writer', () => {
  let dir: string;
  let file: string;
  let conn: DbConnection;
  let writer: SqliteWriterThread;
  const transactions: Array<{ operation: string; rows: number; ms: number }> = [];
  let groupId: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-sqlite-writer-'));
    file = join(dir, 'w.db');
    await applyMigrations(`file:${file}`);
    conn = createPrismaClient(`file:${file}`);
    writer = createSqliteWriter(`file:${file}`, {
      onTransaction: (operation, rows, ms) => transactions.push({ operation, rows, ms }),
    });
  });
  afterAll(async () => {
    await writer.close();
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    transactions.length = 0;
    const db = conn.prisma;
    await db.$transaction([db.requestLog.deleteMany(), db.hourlyStat.deleteMany(), db.apiKey.deleteMany()]);
    await db.group.deleteMany();
    groupId = (await db.group.create({ data: groupData('g') })).id;
  });

  it('imports keys in many short transactions, adding new ones and finding known ones by hash', async () => {
    const pool = fakePool();
    const deps = { db: conn.prisma, keyCipher: cipher, keyPool: pool, sqliteWriter: writer };
    const values = Array.from({ length: 5000 }, (_, i) => `sk-writer-${i}`);
    const { result, turns } = await loopTurnsDuring(() => addKeys(deps, groupId, values));
    expect(result).toEqual({ added: 5000, ignored: 0, total: 5000 });
    expect(pool.keys.size).toBe(5000);
    expect(turns).toBeGreaterThan(0);
    expect(transactions.filter((t) => t.operation === 'keys').length).toBeGreaterThan(5);

    // Known keys are found by hash; one the pool lost (a crash between insert and pool) is handed to it again.
    const [first] = [...pool.keys.keys()];
    pool.keys.delete(first as number);
    expect(await addKeys(deps, groupId, [...values.slice(0, 10), 'sk-writer-new'])).toEqual({
      added: 1,
      ignored: 10,
      total: 5001,
    });
    expect(pool.keys.size).toBe(5001);
    const row = await conn.prisma.apiKey.findFirstOrThrow({
      where: { groupId, keyHash: cipher.hash('sk-writer-new') },
    });
    expect(row).toMatchObject({ keyValue: 'sealed:sk-writer-new', keyMasked: expect.any(String) as string });
  });

  it('keeps a small page cache for logs, widened for bulk work and narrowed again once it is done', async () => {
    const sizes: number[] = [];
    const owner = openSqliteOwner(`file:${file}`, {
      bulkCacheHoldMs: 150,
      onCacheSize: (kib) => sizes.push(kib),
    });
    try {
      await owner.writeLogs(Array.from({ length: 300 }, (_, i) => logRecord(i, { groupId })));
      expect(sizes).toEqual([STEADY_CACHE_KIB]);
      await owner.deleteBefore('request_logs', new Date(Date.now() + DAY));
      await owner.deleteBefore('request_logs', new Date(Date.now() + DAY));
      expect(sizes).toEqual([STEADY_CACHE_KIB, BULK_CACHE_KIB]);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(sizes).toEqual([STEADY_CACHE_KIB, BULK_CACHE_KIB, STEADY_CACHE_KIB]);
    } finally {
      await owner.close();
    }
  });

  it('stores values already sealed for the queue as they are instead of sealing them again', async () => {
    const deps = { db: conn.prisma, keyCipher: cipher, keyPool: fakePool(), sqliteWriter: writer };
    await addKeys(deps, groupId, ['sk-queued-1'], { sealed: ['queued:sk-queued-1'] });
    expect((await conn.prisma.apiKey.findFirstOrThrow({ where: { groupId } })).keyValue).toBe(
      'queued:sk-queued-1',
    );
  });

  it('takes an empty batch of logs (no string to hand over) as nothing to write', async () => {
    const before = await conn.prisma.requestLog.count();
    await expect(writer.writeLogs([])).resolves.toBeUndefined();
    expect(await conn.prisma.requestLog.count()).toBe(before);
  });

  it('writes a batch retried after a partial write once: no duplicate rows', async () => {
    const key = await conn.prisma.apiKey.create({
      data: { groupId, keyValue: 'v', keyHash: 'h', keyMasked: 'm' },
    });
    const batch = Array.from({ length: 300 }, (_, i) => logRecord(i, { groupId, keyId: key.id }));
    await writer.writeLogs(batch.slice(0, 120));
    await writer.writeLogs(batch);
    expect(await conn.prisma.requestLog.count()).toBe(300);
    // Log rows feed no counters: those come from usage batches.
    expect(await conn.prisma.hourlyStat.count()).toBe(0);
    expect((await conn.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } })).requestCount).toBe(0);
  });

  it('stores rows handed over as chunks of their texts exactly as the records they were made from', async () => {
    const make = (base: number) => [
      logRecord(base + 1, { groupId, error: 'quote " back\\slash \r\n ü 𝄞 \u0001' }),
      logRecord(base + 2, { groupId, keyMasked: 'sk-ab\u2026yz', proxyKeyMasked: null, model: null }),
    ];
    await writer.writeLogs(make(0));
    // One chunk per row, as bytes of a larger buffer (a sink's reused memory): only the view's bytes are rows.
    const texts = make(10).map(logRowText);
    const whole = Buffer.from(`xx[${texts[0]}]yy[${texts[1]}]`);
    const first = whole.subarray(2, 4 + Buffer.byteLength(texts[0]!));
    const second = whole.subarray(first.length + 4);
    await writer.writeLogChunks([first, second]);
    await expect(writer.writeLogChunks([])).resolves.toBeUndefined();
    const rows = await conn.prisma.requestLog.findMany({ orderBy: { id: 'asc' } });
    expect(rows).toHaveLength(4);
    // The same fields, apart from those the record numbers make differ.
    const view = (r: (typeof rows)[number]) => ({ ...r, id: '', requestId: '', time: null });
    expect(rows.slice(2).map(view)).toEqual(rows.slice(0, 2).map(view));
    expect(rows[0]!.error).toBe('quote " back\\slash \r\n ü 𝄞 \u0001');
    expect(rows[1]!.keyMasked).toBe('sk-ab\u2026yz');
  });

  it('fails a call whose chunk does not parse or holds no rows, and only that call: the thread goes on', async () => {
    await writer.writeLogs([logRecord(1, { groupId })]);
    const started = workers.started;
    await expect(
      writer.writeLogChunks([Buffer.from('[["not", "a row"]'), Buffer.from('')]),
    ).rejects.toMatchObject({
      name: 'SyntaxError',
    });
    await expect(writer.writeLogChunks([Buffer.from('{"rows": []}')])).rejects.toMatchObject({
      name: 'TypeError',
    });
    await writer.writeLogs([logRecord(2, { groupId })]);
    expect(workers.started).toBe(started);
    expect(await conn.prisma.requestLog.count()).toBe(2);
  });

  it('applies a usage batch sent twice once: stats, key counts and access-key totals', async () => {
    const db = conn.prisma;
    const keyId = (await db.apiKey.create({ data: { groupId, keyValue: 'v', keyHash: 'h', keyMasked: 'm' } }))
      .id;
    await db.accessKey.deleteMany();
    const accessKeyId = (await db.accessKey.create({ data: accessKeyData('writer') })).id;
    const batch = usageBatch('writer-batch', { groupId, keyId, accessKeyId });
    expect(await writer.applyUsage(batch)).toBe(true);
    expect(await writer.applyUsage(batch)).toBe(false);
    const hours = await db.hourlyStat.findMany({ where: { groupId }, orderBy: { accessKeyId: 'asc' } });
    expect(hours.map((h) => [h.accessKeyId, h.requests, h.failures, h.cachedTokens, h.costUsd])).toEqual([
      [0, 1, 1, 0, 0],
      [accessKeyId, 2, 0, 40, 0.5],
    ]);
    expect(await db.apiKey.findUniqueOrThrow({ where: { id: keyId } })).toMatchObject({
      requestCount: 2,
      lastUsedAt: new Date(USAGE_LAST),
    });
    expect(await db.accessKey.findUniqueOrThrow({ where: { id: accessKeyId } })).toMatchObject({
      totalRequests: 2,
      totalTokens: 300,
      totalCostUsd: 0.5,
      lastUsedAt: new Date(USAGE_LAST),
    });
    expect(transactions.filter((t) => t.operation === 'usage')).toHaveLength(2);
  });

  it('deletes expired rows in short transactions that hand the event loop back in between', async () => {
    const now = new Date();
    const old = new Date(now.getTime() - 30 * DAY).toISOString();
    const recent = new Date(now.getTime() - DAY).toISOString();
    await writer.writeLogs(
      Array.from({ length: 20_000 }, (_, i) =>
        requestLogRecord(i, { time: i < 19_990 ? old : recent, groupId, groupName: 'g' }),
      ),
    );
    transactions.length = 0;
    const { result, turns } = await loopTurnsDuring(() =>
      runRetention(conn.prisma, { now, retentionDays: 7, sqliteWriter: writer }),
    );
    expect(result.requestLogs).toBe(19_990);
    expect(await conn.prisma.requestLog.count()).toBe(10);
    const deletes = transactions.filter((t) => t.operation === 'request_logs');
    expect(deletes.length).toBeGreaterThan(3);
    expect(turns).toBeGreaterThan(0);
    // The same through the Prisma path (other databases) gives the same answer.
    expect((await pruneLogs(conn.prisma, { retentionDays: 7, now })).requestLogs).toBe(0);
  });

  it('waits for a lock held by another connection on a timer, not inside SQLite on the event loop', async () => {
    const other = new Database(file);
    other.prepare('BEGIN IMMEDIATE').run();
    let committed = false;
    const write = writer.writeLogs([logRecord(1, { groupId })]).then(() => {
      committed = true;
    });
    const { turns } = await loopTurnsDuring(() => new Promise((r) => setTimeout(r, 150)));
    expect(committed).toBe(false);
    expect(turns).toBeGreaterThan(20);
    other.prepare('COMMIT').run();
    other.close();
    await write;
    expect(await conn.prisma.requestLog.count()).toBe(1);
  });

  it('checkpoints the write-ahead log into the database file from its worker thread', async () => {
    const fresh = join(dir, 'checkpoint.db');
    await applyMigrations(`file:${fresh}`);
    const own = createSqliteWriter(`file:${fresh}`);
    try {
      const before = statSync(fresh).size;
      await own.writeLogs(bulkyLogs(0, 5000));
      // The writer's own commits never checkpoint (that would flush the disk inside a commit), and this thread has
      // no connection to the file: its thread does, on a timer.
      expect(await fileGrowsPast(fresh, before + 1_000_000)).toBe(true);
    } finally {
      await own.close();
    }
  });

  it('checkpoints in the writer thread itself (no thread of their own), and again once it was restarted', async () => {
    const fresh = join(dir, 'restart.db');
    await applyMigrations(`file:${fresh}`);
    // Open, never writing, so that no connection closes last: SQLite checkpoints the file when the last one does
    // (the terminated thread's would), which would grow the file without any timer.
    const idle = new Database(fresh);
    const started = workers.started;
    const own = createSqliteWriter(`file:${fresh}`);
    try {
      await own.writeLogs(bulkyLogs(0, 5000));
      expect(await fileGrowsPast(fresh, statSync(fresh).size + 1_000_000)).toBe(true);
      expect(workers.started - started).toBe(1);

      await own.terminate();
      const before = statSync(fresh).size;
      await own.writeLogs(bulkyLogs(5000, 5000));
      expect(await fileGrowsPast(fresh, before + 1_000_000)).toBe(true);
      // The restarted writer thread, nothing more.
      expect(workers.started - started).toBe(2);
    } finally {
      await own.close();
      idle.close();
    }
    expect(workers.started - started).toBe(2);
  });

  it('runs the last checkpoint on close, starting a thread again if the last one died', async () => {
    const fresh = join(dir, 'last.db');
    await applyMigrations(`file:${fresh}`);
    // A read transaction keeps every checkpoint from copying what is committed after it began.
    const idle = new Database(fresh);
    idle.prepare('BEGIN').run();
    idle.prepare('SELECT count(*) FROM request_logs').get();
    const own = createSqliteWriter(`file:${fresh}`);
    try {
      await own.writeLogs(bulkyLogs(0, 5000));
      await new Promise((r) => setTimeout(r, 600));
      await own.terminate();
      idle.prepare('COMMIT').run();
      const before = statSync(fresh).size;
      const started = workers.started;
      await own.close();
      expect(workers.started - started).toBe(1);
      expect(statSync(fresh).size).toBeGreaterThan(before + 1_000_000);
      expect(countLogs(fresh)).toBe(5000);
    } finally {
      idle.close();
    }
  });

  it('writes from its own thread: rows land while the main thread is too busy to run anything', async () => {
    const write = writer.writeLogs(Array.from({ length: 20_000 }, (_, i) => logRecord(i, { groupId })));
    // Blocks this thread (no timer, no I/O, no promise runs) until another connection sees every row committed.
    const deadline = Date.now() + 15_000;
    let seen = countLogs(file);
    while (seen < 20_000 && Date.now() < deadline) seen = countLogs(file);
    expect(seen).toBe(20_000);
    await write;
    expect(await conn.prisma.requestLog.count({ where: { groupId } })).toBe(20_000);
  });

  it('leaves the lock free between its transactions: a Prisma write waits ms, not for the whole job', async () => {
    const key = await conn.prisma.apiKey.create({
      data: { groupId, keyValue: 'v', keyHash: 'h', keyMasked: 'm' },
    });
    const old = new Date(Date.now() - 30 * DAY).toISOString();
    for (let n = 0; n < 100_000; n += 10_000) {
      await writer.writeLogs(
        Array.from({ length: 10_000 }, (_, i) =>
          requestLogRecord(n + i, { time: old, groupId, groupName: 'g' }),
        ),
      );
    }
    let done = false;
    const retention = writer.deleteBefore('request_logs', new Date()).finally(() => (done = true));
    // Prisma's connection waits for the lock in SQLite's busy handler, on this thread's event loop.
    const waits: number[] = [];
    while (!done) {
      const t = performance.now();
      await conn.prisma.apiKey.update({ where: { id: key.id }, data: { failureCount: { increment: 1 } } });
      waits.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await retention).toBe(100_000);
    waits.sort((a, b) => a - b);
    // Back to back, the transactions kept such a write waiting 0.65-1.4 s; with rests, ~15 ms on a busy machine.
    expect(waits.length).toBeGreaterThan(5);
    expect(waits[Math.floor(waits.length / 2)]).toBeLessThan(100);
  });

  it('keeps the code of a failed statement in the error it rejects with', async () => {
    const failed = writer.insertKeys([{ groupId: 999_999, keyValue: 'v', keyHash: 'h', keyMasked: 'm' }]);
    await expect(failed).rejects.toBeInstanceOf(Error);
    await expect(failed).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    // The writer goes on.
    expect((await writer.insertKeys([{ groupId, keyValue: 'v', keyHash: 'h', keyMasked: 'm' }])).added).toBe(
      1,
    );
  });

  it('fails the calls of a thread that dies and starts a new one for the next call', async () => {
    const batch = Array.from({ length: 20_000 }, (_, i) => logRecord(i, { groupId }));
    const lost = writer.writeLogs(batch);
    await writer.terminate();
    await expect(lost).rejects.toThrow(/thread exited/);
    // Retried as the request-log buffer does: rows committed before the crash are not written twice.
    await writer.writeLogs(batch);
    expect(await conn.prisma.requestLog.count()).toBe(20_000);
  });

  it('finishes the pending writes before closing, then refuses new ones', async () => {
    const fresh = join(dir, 'close.db');
    await applyMigrations(`file:${fresh}`);
    const own = createSqliteWriter(`file:${fresh}`);
    let written = false;
    const write = own
      .writeLogs(Array.from({ length: 5000 }, (_, i) => logRecord(i)))
      .then(() => (written = true));
    await own.close();
    expect(written).toBe(true);
    expect(countLogs(fresh)).toBe(5000);
    await write;
    await expect(own.writeLogs([logRecord(1)])).rejects.toThrow(/closed/);
  });

  it('lets the process exit once idle, but not before a pending write is done', async () => {
    const fresh = join(dir, 'exit.db');
    await applyMigrations(`file:${fresh}`);
    // A program that starts a write, awaits nothing and has nothing else to do.
    const script = join(dir, 'exit.mts');
    const source = (name: string) => JSON.stringify(fileURLToPath(new URL(name, import.meta.url)));
    writeFileSync(
      script,
      `import { createSqliteWriter } from ${source('./sqlite-writer.ts')};
       import { logRecord } from ${source('./testing/records.ts')};
       void createSqliteWriter(${JSON.stringify(`file:${fresh}`)}).writeLogs(
         Array.from({ length: 3000 }, (_, i) => logRecord(i)),
       );`,
    );
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const run = spawnSync(process.execPath, ['--import', tsx, script], { timeout: 60_000, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(countLogs(fresh)).toBe(3000);
  });
});
