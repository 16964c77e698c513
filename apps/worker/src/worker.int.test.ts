// The worker's database jobs on PostgreSQL, with two workers sharing one database as in distributed mode. Skipped
// with a loud warning when PostgreSQL is unreachable, failing when CI is set. Server: TEST_POSTGRES_URL (default
// postgresql://postgres@127.0.0.1:5432/postgres); each run works in a schema of its own, dropped afterwards.
import { logRowsOf } from '@keyway/contracts';
import { MemoryJobQueue } from '@keyway/queue';
import { randomPrefix, requireService } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from './app';
import { createFixture } from './testing/fixture';
import type { Fixture } from './testing/fixture';
import { finished } from './testing/jobs';
import { accessKeyData, usageBatch } from '@keyway/db/testing';
import { logRecord } from './testing/records';

const SERVER = process.env.TEST_POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const reachable = await requireService('PostgreSQL (TEST_POSTGRES_URL)', SERVER);

describe.skipIf(!reachable)('worker jobs on PostgreSQL', () => {
  const schema = randomPrefix('worker');
  const url = new URL(SERVER);
  url.searchParams.set('schema', schema);
  // Two worker processes: each its own connection pool, key pool and queue.
  let a: Fixture;
  let b: Fixture;
  let qa: MemoryJobQueue;
  let qb: MemoryJobQueue;

  beforeAll(async () => {
    a = await createFixture({ databaseUrl: url.toString() });
    b = await createFixture({ databaseUrl: url.toString() });
    qa = new MemoryJobQueue({ backoffMs: 10 });
    qb = new MemoryJobQueue({ backoffMs: 10 });
    createWorker({ ...a.deps, queue: qa }, { recheckEveryMs: 3_600_000 });
    createWorker({ ...b.deps, queue: qb }, { recheckEveryMs: 3_600_000 });
  });
  afterAll(async () => {
    await Promise.allSettled([qa?.close(), qb?.close()]);
    await a?.db.$executeRawUnsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await Promise.allSettled([a?.close(), b?.close()]);
  });

  it('writes a request-log batch once when two workers run the same job at the same time (as rows or records)', async () => {
    const group = await a.addGroup();
    const keyId = await a.addKey(group.id, 'sk-pg-logged-0123456789abcdef');
    const records = Array.from({ length: 300 }, (_, i) => logRecord(1000 + i, { groupId: group.id, keyId }));

    // A gateway sends rows (trusted: read by the worker); an earlier gateway sent whole records.
    const [ja, jb] = await Promise.all([
      qa.enqueue('request-logs', logRowsOf(records), { trusted: true }),
      qb.enqueue('request-logs', { records }),
    ]);
    const [sa, sb] = await Promise.all([finished(qa, ja.id), finished(qb, jb.id)]);

    expect([sa.state, sb.state]).toEqual(['succeeded', 'succeeded']);
    expect(await a.db.requestLog.count({ where: { groupId: group.id } })).toBe(300);
    const stored = await a.db.requestLog.findUniqueOrThrow({ where: { id: records[7]!.id } });
    expect(stored).toMatchObject({ requestId: records[7]!.requestId, keyId, model: records[7]!.model });
  });

  it('applies a usage batch once when two workers run the same job at the same time', async () => {
    const group = await a.addGroup();
    const keyId = await a.addKey(group.id, 'sk-pg-counted-0123456789abcdef');
    const accessKeyId = (await a.db.accessKey.create({ data: accessKeyData(`pg-${group.id}`) })).id;
    const batch = usageBatch(`pg-usage-${group.id}`, { groupId: group.id, keyId, accessKeyId });

    const [ja, jb] = await Promise.all([
      qa.enqueue('usage-batch', { batch }),
      qb.enqueue('usage-batch', { batch }),
    ]);
    const [sa, sb] = await Promise.all([finished(qa, ja.id), finished(qb, jb.id)]);

    expect([sa.state, sb.state]).toEqual(['succeeded', 'succeeded']);
    expect([sa.result, sb.result].sort()).toEqual([false, true]);
    const hours = await a.db.hourlyStat.findMany({ where: { groupId: group.id } });
    expect(hours.reduce((sum, h) => sum + h.requests, 0)).toBe(3);
    expect((await a.keyRow(keyId)).requestCount).toBe(2);
    expect((await a.db.accessKey.findUniqueOrThrow({ where: { id: accessKeyId } })).totalRequests).toBe(2);
  });

  it('adds nothing when a request-log job is run again after it committed', async () => {
    const group = await a.addGroup();
    const records = [1, 2].map((n) => logRecord(2000 + n, { groupId: group.id }));
    await finished(qa, (await qa.enqueue('request-logs', { records })).id);
    const again = await finished(qb, (await qb.enqueue('request-logs', { records })).id);
    expect(again).toMatchObject({ state: 'succeeded', result: { written: 0, duplicates: 2 } });
    expect(await a.db.requestLog.count({ where: { groupId: group.id } })).toBe(2);
  });

  it('imports keys into the database and the importing worker’s key pool', async () => {
    const group = await a.addGroup();
    const keys = Array.from({ length: 600 }, (_, i) => `sk-pg-import-${i}-abcdefghijkl`);
    const { id } = await qa.enqueue('key-import', {
      groupId: group.id,
      keys: keys.map((k) => a.deps.keyCipher.seal(k)),
    });
    expect(await finished(qa, id)).toMatchObject({
      state: 'succeeded',
      result: { added: 600, ignored: 0, total: 600 },
    });
    expect(a.pool.keyCount(group.id)).toBe(600);
  });

  it('persists the latest key change of a batch', async () => {
    const group = await a.addGroup();
    const keyId = await a.addKey(group.id, 'sk-pg-events-0123456789abcdef');
    const base = { keyId, groupId: group.id, failureCount: 1, cooldownUntil: null, cause: 'auth' as const };
    const changes = [
      { ...base, status: 'invalid' as const, lastError: 'newest', at: 3000 },
      { ...base, status: 'active' as const, lastError: null, at: 1000 },
    ];
    const s = await finished(qb, (await qb.enqueue('key-events', { changes })).id);
    expect(s).toMatchObject({ state: 'succeeded', result: { written: 1, superseded: 1 } });
    expect(await a.keyRow(keyId)).toMatchObject({ status: 'invalid', lastError: 'newest' });
  });
});
