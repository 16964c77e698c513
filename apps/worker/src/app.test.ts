import { writeRequestLogs } from '@keyway/db';
import { accessKeyData, usageBatch } from '@keyway/db/testing';
import type { JobName } from '@keyway/queue';
import { JOB_NAMES, MemoryJobQueue } from '@keyway/queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorker } from './app';
import { createFixture } from './testing/fixture';
import type { Fixture } from './testing/fixture';
import { finished } from './testing/jobs';
import { logRecord } from './testing/records';

const DAY = 86_400_000;

describe('createWorker', () => {
  let f: Fixture;
  let queue: MemoryJobQueue;
  beforeEach(async () => {
    f = await createFixture();
    queue = new MemoryJobQueue({ backoffMs: 10 });
  });
  afterEach(async () => {
    await queue.close();
    await f.close();
  });

  it('runs key-validate jobs with progress and the summary as result', async () => {
    createWorker({ ...f.deps, queue }, { recheckEveryMs: 60_000 });
    const group = await f.addGroup();
    await f.addKey(group.id, 'sk-a-0123456789abcdef', { status: 'invalid' });
    await f.addKey(group.id, 'sk-b-0123456789abcdef', { status: 'invalid' });

    const { id } = await queue.enqueue('key-validate', { groupId: group.id, status: 'invalid' });
    const s = await finished(queue, id);

    expect(s).toMatchObject({ state: 'succeeded', processed: 2, total: 2 });
    expect(s.result).toMatchObject({ groupId: group.id, total: 2, restored: 2 });
  });

  it('fails a key-validate job for a missing group without retrying it', async () => {
    createWorker({ ...f.deps, queue }, { recheckEveryMs: 60_000 });
    const { id } = await queue.enqueue('key-validate', { groupId: 4242, status: 'all' });
    const s = await finished(queue, id);
    expect(s).toMatchObject({ state: 'failed', error: 'group 4242 not found' });
  });

  it('schedules the re-check, which restores invalid keys of due groups', async () => {
    const group = await f.addGroup();
    const id = await f.addKey(group.id, 'sk-healed-0123456789abcdef', { status: 'invalid' });
    createWorker({ ...f.deps, queue }, { recheckEveryMs: 50 });

    for (let i = 0; i < 300 && (await f.keyRow(id)).status !== 'active'; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));

    expect((await f.keyRow(id)).status).toBe('active');
    expect(f.pool.health(group.id, id)?.status).toBe('active');
    const runs = await queue.list();
    expect(runs.some((t) => t.type === 'key-recheck' && t.state === 'succeeded')).toBe(true);
  });

  it('writes request-log jobs, and a job run again after it committed adds nothing', async () => {
    createWorker({ ...f.deps, queue }, { jobs: ['request-logs'] });
    const group = await f.addGroup();
    const keyId = await f.addKey(group.id, 'sk-logged-0123456789abcdef');
    const records = [1, 2, 3].map((n) => logRecord(n, { groupId: group.id, keyId }));

    const first = await finished(queue, (await queue.enqueue('request-logs', { records })).id);
    const again = await finished(queue, (await queue.enqueue('request-logs', { records })).id);

    expect(first).toMatchObject({ state: 'succeeded', result: { written: 3, duplicates: 0 } });
    expect(again).toMatchObject({ state: 'succeeded', result: { written: 0, duplicates: 3 } });
    expect(await f.db.requestLog.count()).toBe(3);
    // Counters come from usage-batch jobs, whatever `requestLogging` keeps: log rows add nothing to them.
    expect(await f.db.hourlyStat.count()).toBe(0);
    expect((await f.keyRow(keyId)).requestCount).toBe(0);
  });

  it('applies usage-batch jobs, and a job run again after it committed counts nothing twice', async () => {
    createWorker({ ...f.deps, queue }, { jobs: ['usage-batch'] });
    const group = await f.addGroup();
    const keyId = await f.addKey(group.id, 'sk-counted-0123456789abcdef');
    const accessKeyId = (await f.db.accessKey.create({ data: accessKeyData('worker') })).id;
    const batch = usageBatch('worker-usage-1', { groupId: group.id, keyId, accessKeyId });

    const first = await finished(queue, (await queue.enqueue('usage-batch', { batch })).id);
    const again = await finished(queue, (await queue.enqueue('usage-batch', { batch })).id);

    expect(first).toMatchObject({ state: 'succeeded', result: true });
    expect(again).toMatchObject({ state: 'succeeded', result: false });
    expect((await f.db.hourlyStat.findMany()).reduce((n, h) => n + h.requests, 0)).toBe(3);
    expect((await f.keyRow(keyId)).requestCount).toBe(2);
    expect(await f.db.accessKey.findUniqueOrThrow({ where: { id: accessKeyId } })).toMatchObject({
      totalRequests: 2,
      totalCostUsd: 0.5,
    });
  });

  it('writes request-log jobs with the writer it is given instead of Prisma', async () => {
    const batches: number[] = [];
    const writeRequestLogs = (records: readonly unknown[]) => {
      batches.push(records.length);
      return Promise.resolve({ written: records.length, duplicates: 0 });
    };
    createWorker({ ...f.deps, writeRequestLogs, queue }, { jobs: ['request-logs'] });
    const group = await f.addGroup();
    const records = [1, 2].map((n) => logRecord(n, { groupId: group.id }));
    const s = await finished(queue, (await queue.enqueue('request-logs', { records })).id);
    expect(s).toMatchObject({ state: 'succeeded', result: { written: 2 } });
    expect(batches).toEqual([2]);
    expect(await f.db.requestLog.count()).toBe(0);
  });

  it('deletes request logs past the retention a log-retention job names, else past the stored one', async () => {
    const now = Date.UTC(2026, 2, 10, 12);
    createWorker({ ...f.deps, now: () => now, queue }, { jobs: ['log-retention'] });
    const group = await f.addGroup();
    const ages = [1, 4, 10];
    await writeRequestLogs(
      f.db,
      ages.map((days, i) =>
        logRecord(i + 1, { groupId: group.id, time: new Date(now - days * DAY).toISOString() }),
      ),
    );

    const given = await finished(queue, (await queue.enqueue('log-retention', { retentionDays: 5 })).id);
    expect(given).toMatchObject({ state: 'succeeded', result: { requestLogs: 1 } });
    await f.db.setting.create({ data: { key: 'requestLogRetentionDays', value: '2' } });
    const stored = await finished(queue, (await queue.enqueue('log-retention', {})).id);
    expect(stored).toMatchObject({ state: 'succeeded', result: { requestLogs: 1 } });
    expect(await f.db.requestLog.count()).toBe(1);
  });

  it('runs only the jobs it is given: the others stay queued for another process', async () => {
    const jobs: JobName[] = JOB_NAMES.filter((n) => n !== 'request-logs');
    createWorker({ ...f.deps, queue }, { jobs });
    const group = await f.addGroup();
    const { id } = await queue.enqueue('request-logs', { records: [logRecord(1, { groupId: group.id })] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await queue.status(id))?.state).toBe('queued');
    expect(await f.db.requestLog.count()).toBe(0);
  });
});
