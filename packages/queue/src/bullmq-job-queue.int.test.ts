import { LOG_ROWS_JSON_HEAD, LOG_ROWS_JSON_TAIL, logRowText, type RequestLogRecord } from '@keyway/contracts';
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { LogPort } from '@keyway/core';
import { QueueUnavailableError } from './bullmq-connection';
import { BullJobQueue } from './bullmq-job-queue';
import type { BullJobQueueOptions } from './bullmq-job-queue';
import { jobQueueContract, task, until } from './contract';
import { PermanentJobError } from './port';
import type { TaskStatus } from './port';
import { startTcpProxy } from './tcp-proxy';
import type { TcpProxy } from './tcp-proxy';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Whether Redis answers: skips loudly on a laptop, fails in CI. Stands in for `requireService` of
 * `@keyway/testing`, which is not a devDependency of this package yet (adding it needs a lockfile update).
 */
async function requireRedis(target: string): Promise<boolean> {
  const probe = new Redis(target, { lazyConnect: true, connectTimeout: 1000, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch (error) {
    const where = target.replace(/\/\/[^@/]*@/, '//***@');
    if (process.env.CI)
      throw new Error(`Redis is required in CI but is not reachable at ${where}`, { cause: error });
    console.warn(`\n!!! SKIPPING BullJobQueue integration tests: no Redis at ${where} (set REDIS_URL)\n`);
    return false;
  } finally {
    probe.disconnect();
  }
}

const hasRedis = await requireRedis(url);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const silent: LogPort = { info: () => undefined, warn: () => undefined, error: () => undefined };
const finished = (s: TaskStatus | null | undefined) => s?.state === 'succeeded' || s?.state === 'failed';

describe.skipIf(!hasRedis)('BullJobQueue (real Redis)', () => {
  const prefixes: string[] = [];
  const newPrefix = (): string => {
    const prefix = `kwtest:${randomUUID()}`;
    prefixes.push(prefix);
    return prefix;
  };
  const options = (prefix: string): BullJobQueueOptions => ({
    connection: url,
    prefix,
    attempts: 3,
    backoffMs: 10,
    logger: silent,
  });

  afterAll(async () => {
    // Every key a test wrote lives under its prefix: SCAN + DEL leaves the shared Redis as it was.
    const admin = new Redis(url);
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await admin.del(...keys);
      } while (cursor !== '0');
    }
    admin.disconnect();
  });

  jobQueueContract('bullmq', () => new BullJobQueue(options(newPrefix())));

  /** One request-log record, as a gateway hands it over. */
  const logRecordFixture: RequestLogRecord = {
    id: 'rec-1',
    requestId: 'req-1',
    time: '2026-11-26T08:00:00.000Z',
    groupId: 1,
    groupName: 'g',
    parentGroupId: null,
    parentGroupName: null,
    cachedTokens: null,
    costUsd: null,
    accessKeyId: null,
    accessKeyName: null,
    translatedFrom: null,
    keyId: 1,
    keyMasked: 'sk-t…0001',
    proxyKeyMasked: null,
    model: 'gpt-4o-mini',
    statusCode: 200,
    success: true,
    durationMs: 12,
    ttfbMs: 5,
    stream: false,
    retries: 0,
    attempts: [],
    error: null,
    clientIp: '127.0.0.1',
    requestPath: '/v1/chat/completions',
    promptTokens: 3,
    completionTokens: 4,
    requestBody: null,
  };

  describe('adapter', () => {
    const opened: BullJobQueue[] = [];
    const open = (prefix: string, extra: Partial<BullJobQueueOptions> = {}): BullJobQueue => {
      const queue = new BullJobQueue({ ...options(prefix), ...extra });
      opened.push(queue);
      return queue;
    };
    const proxies: TcpProxy[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()));
      await Promise.all(proxies.splice(0).map((p) => p.down()));
    });

    it('runs a job enqueued by one instance on another, and both read its status', async () => {
      const prefix = newPrefix();
      const controlPlane = open(prefix);
      const worker = open(prefix);
      worker.process(
        'key-validate',
        task((job) => ({ group: job.payload.groupId })),
      );
      const { id } = await controlPlane.enqueue('key-validate', { groupId: 7, status: 'all' });
      const seen = await until(() => controlPlane.status(id), finished);
      expect(seen).toMatchObject({ id, type: 'key-validate', state: 'succeeded', result: { group: 7 } });
      expect(await worker.status(id)).toEqual(seen);
    });

    it('deletes a succeeded request-logs batch at once instead of keeping its records in Redis', async () => {
      const queue = open(newPrefix());
      let handled = 0;
      queue.process(
        'request-logs',
        task(() => void handled++),
      );
      queue.process(
        'key-validate',
        task(() => 'kept'),
      );
      const batch = await queue.enqueue('request-logs', { records: [logRecordFixture] });
      const task2 = await queue.enqueue('key-validate', { groupId: 1, status: 'all' });
      await until(() => queue.status(task2.id), finished);
      await until(
        () => handled,
        (n) => n === 1,
      );
      await until(
        () => queue.status(batch.id),
        (s) => s === null,
      );
      expect(await queue.status(task2.id)).toMatchObject({ state: 'succeeded', result: 'kept' });
    });

    it('keeps a big request-logs batch beside its job, hands it over whole, and deletes both once it succeeded', async () => {
      const prefix = newPrefix();
      const gateway = open(prefix);
      const admin = new Redis(url);
      const records = Array.from({ length: 60 }, (_, i) => ({
        ...logRecordFixture,
        id: `rec-${i}`,
        error: i === 7 ? 'quote " backslash \\ newline \n – ✓' : null,
      }));
      const big = await gateway.enqueue('request-logs', { records }, { trusted: true });
      const small = await gateway.enqueue('request-logs', { records: [logRecordFixture] }, { trusted: true });
      // Waiting for a worker: the job holds only the key of its payload, which expires a day after failed jobs.
      const side = `${prefix}:payloads:${big.id}`;
      expect(JSON.parse((await admin.hget(`${prefix}:request-logs:${big.id}`, 'data')) ?? 'null')).toEqual({
        $payload: side,
      });
      expect(JSON.parse((await admin.get(side)) ?? 'null')).toEqual({ records });
      expect(await admin.ttl(side)).toBeGreaterThan(8 * 24 * 3600 - 60);
      // A small batch stays in its job.
      expect(JSON.parse((await admin.hget(`${prefix}:request-logs:${small.id}`, 'data')) ?? 'null')).toEqual({
        records: [logRecordFixture],
      });
      expect(await admin.exists(`${prefix}:payloads:${small.id}`)).toBe(0);

      const worker = open(prefix);
      const seen: unknown[] = [];
      let failFirst = true;
      worker.process(
        'request-logs',
        task((job) => {
          seen.push(job.payload.records);
          // A failed attempt keeps the payload for the next one.
          if (job.payload.records.length > 1 && failFirst) {
            failFirst = false;
            throw new Error('database away');
          }
        }),
      );
      await until(
        () => seen.length,
        (n) => n === 3,
      );
      expect(seen).toContainEqual(records);
      // Twice: the failed attempt and the one after it.
      expect(seen.filter((r) => (r as unknown[]).length === records.length)).toHaveLength(2);
      await until(
        () => admin.exists(side),
        (n) => n === 0,
      );
      await until(
        () => worker.status(big.id),
        (s) => s === null,
      );
      admin.disconnect();
    });

    it('stores a batch given as pieces of its JSON (text and bytes) whole beside its job; a small one goes in the job', async () => {
      const prefix = newPrefix();
      const queue = open(prefix);
      const admin = new Redis(url);
      const records = Array.from({ length: 80 }, (_, i) => ({
        ...logRecordFixture,
        id: `rec-${i}`,
        ...(i === 3 ? { error: 'non-ASCII – ✓ and "quotes"' } : {}),
      }));
      const pieces = (rs: typeof records) => [
        LOG_ROWS_JSON_HEAD,
        Buffer.from(`[${rs.map(logRowText).join(',')}]`),
        LOG_ROWS_JSON_TAIL,
      ];
      const big = await queue.enqueueJson('request-logs', pieces(records));
      expect(await admin.get(`${prefix}:payloads:${big.id}`)).toBe(pieces(records).map(String).join(''));
      const small = await queue.enqueueJson('request-logs', pieces(records.slice(0, 1)));
      expect(await admin.exists(`${prefix}:payloads:${small.id}`)).toBe(0);
      const seen: unknown[] = [];
      queue.process(
        'request-logs',
        task((job) => void seen.push(job.payload.records)),
      );
      await until(
        () => seen.length,
        (n) => n === 2,
      );
      expect(seen).toContainEqual(records);
      expect(seen).toContainEqual(records.slice(0, 1));
      admin.disconnect();
    });

    it('fails a job whose payload is no longer in Redis at once, naming why', async () => {
      const prefix = newPrefix();
      const queue = open(prefix);
      const admin = new Redis(url);
      const records = Array.from({ length: 60 }, (_, i) => ({ ...logRecordFixture, id: `rec-${i}` }));
      const { id } = await queue.enqueue('request-logs', { records }, { trusted: true });
      expect(await admin.del(`${prefix}:payloads:${id}`)).toBe(1);
      let handled = 0;
      queue.process(
        'request-logs',
        task(() => void handled++),
      );
      const failed = await until(() => queue.status(id), finished);
      expect(failed).toMatchObject({ state: 'failed' });
      expect(failed?.error).toMatch(/no longer in Redis/);
      expect(handled).toBe(0);
      // Without retries: one attempt.
      const job = await new Queue('request-logs', { connection: admin, prefix }).getJob(id);
      expect(job?.attemptsMade).toBe(1);
      admin.disconnect();
    });

    it('neither reads nor deletes a Redis key that a job names as its payload but is not its own', async () => {
      const prefix = newPrefix();
      const queue = open(prefix);
      const admin = new Redis(url);
      const other = `${prefix}:precious`;
      await admin.set(other, JSON.stringify({ records: [logRecordFixture] }));
      // A producer (of Redis access) writing a job by hand, pointing at someone else's key.
      const bull = new Queue('request-logs', { connection: admin, prefix });
      await bull.add('request-logs', { $payload: other }, { jobId: 'request-logs.forged' });
      let handled = 0;
      queue.process(
        'request-logs',
        task(() => void handled++),
      );
      const failed = await until(() => queue.status('request-logs.forged'), finished);
      expect(failed).toMatchObject({ state: 'failed' });
      expect(failed?.error).toMatch(/not its own/);
      expect(handled).toBe(0);
      expect(await admin.get(other)).not.toBeNull();
      await bull.close();
      admin.disconnect();
    });

    it("drops a finished job's payload from Redis, and a failed import's, keeping status and result", async () => {
      const prefix = newPrefix();
      const queue = open(prefix);
      let failImport = false;
      queue.process(
        'key-import',
        task((job) => {
          if (failImport) throw new PermanentJobError('group gone');
          return { added: job.payload.keys.length };
        }),
      );
      queue.process(
        'key-validate',
        task(() => {
          throw new PermanentJobError('validation refused');
        }),
      );
      const admin = new Redis(url);
      const stored = (name: string, id: string) => admin.hget(`${prefix}:${name}:${id}`, 'data');
      const secret = 'sk-import-secret-0001';
      const imported = await queue.enqueue('key-import', { groupId: 3, keys: [secret] });
      expect(await until(() => queue.status(imported.id), finished)).toMatchObject({
        state: 'succeeded',
        result: { added: 1 },
      });
      await until(
        () => stored('key-import', imported.id),
        (data) => data === 'null',
      );
      failImport = true;
      const refused = await queue.enqueue('key-import', { groupId: 3, keys: [secret] });
      expect(await until(() => queue.status(refused.id), finished)).toMatchObject({
        state: 'failed',
        error: 'group gone',
      });
      await until(
        () => stored('key-import', refused.id),
        (data) => data === 'null',
      );
      expect((await queue.list()).find((t) => t.id === imported.id)).toMatchObject({
        state: 'succeeded',
        result: { added: 1 },
      });
      // Any other failed job keeps its payload, to be looked into.
      const validate = await queue.enqueue('key-validate', { groupId: 5, status: 'all' });
      await until(() => queue.status(validate.id), finished);
      await sleep(200);
      expect(JSON.parse((await stored('key-validate', validate.id)) ?? 'null')).toEqual({
        groupId: 5,
        status: 'all',
      });
      // Nowhere else either: not in the job hashes, the events streams or the lists.
      for (const key of await admin.keys(`${prefix}:*`)) {
        const type = await admin.type(key);
        const value =
          type === 'hash'
            ? await admin.hgetall(key)
            : type === 'stream'
              ? await admin.xrange(key, '-', '+')
              : type === 'list'
                ? await admin.lrange(key, 0, -1)
                : type === 'zset'
                  ? await admin.zrange(key, '0', '-1')
                  : type === 'string'
                    ? await admin.get(key)
                    : null;
        expect(JSON.stringify(value), key).not.toContain(secret);
      }
      admin.disconnect();
    });

    it('declares a schedule again when Redis lost it (flush, restart without persistence)', async () => {
      const prefix = newPrefix();
      const worker = open(prefix, { scheduleWatchMs: 100 });
      worker.schedule('log-retention', 60_000, {});
      const admin = new Redis(url);
      const scheduler = () =>
        new Queue('log-retention', { connection: admin, prefix }).getJobScheduler('log-retention');
      await until(scheduler, (s) => s !== undefined && s !== null);
      await new Queue('log-retention', { connection: admin, prefix }).removeJobScheduler('log-retention');
      expect(await scheduler()).toBeFalsy();
      await until(scheduler, (s) => s !== undefined && s !== null);
      admin.disconnect();
    });

    it('runs again, within seconds, a job left active without a lock (its worker died mid-hand-over)', async () => {
      const prefix = newPrefix();
      const gateway = open(prefix);
      const { id } = await gateway.enqueue('request-logs', { records: [logRecordFixture] });
      // A worker takes the job and dies before it is done: its lock is gone (expired), the job is still active.
      const admin = new Redis(url, { maxRetriesPerRequest: null });
      const dead = new Worker('request-logs', null, { connection: admin, prefix, autorun: false });
      const taken = await dead.getNextJob('dead-worker-token');
      expect(taken?.id).toBe(id);
      await admin.del(`${prefix}:request-logs:${id}:lock`);
      await dead.close();
      admin.disconnect();
      let handled = 0;
      const started = performance.now();
      open(prefix).process(
        'request-logs',
        task(() => void handled++),
      );
      // Two looks for stalled jobs (5 s apart) put it back; BullMQ's default (30 s) would fail this.
      await until(
        () => handled,
        (n) => n === 1,
        15_000,
      );
      expect(performance.now() - started).toBeLessThan(15_000);
    }, 30_000);

    it('keeps listing a job that failed all its attempts, with its last error', async () => {
      const queue = open(newPrefix());
      let calls = 0;
      queue.process(
        'key-import',
        task(() => {
          calls++;
          throw new Error(`upstream refused (${calls})`);
        }),
      );
      const { id } = await queue.enqueue('key-import', { groupId: 2, keys: ['k'] });
      await until(() => queue.status(id), finished);
      await sleep(100);
      expect(calls).toBe(3);
      const listed = (await queue.list()).find((t) => t.id === id);
      expect(listed).toMatchObject({ state: 'failed', error: 'upstream refused (3)', type: 'key-import' });
      expect(await queue.list({ active: true })).toEqual([]);
    });

    it('lets a closing worker finish its running job, and the job shows as succeeded elsewhere', async () => {
      const prefix = newPrefix();
      const controlPlane = open(prefix);
      const worker = open(prefix);
      let started = false;
      worker.process('key-recheck', async () => {
        started = true;
        await sleep(300);
        return 'done';
      });
      const { id } = await controlPlane.enqueue('key-recheck', {});
      await until(
        () => started,
        (v) => v,
      );
      await worker.close();
      expect(await controlPlane.status(id)).toMatchObject({ state: 'succeeded', result: 'done' });
    });

    it('runs a job again under the same jobId once the previous one finished', async () => {
      const queue = open(newPrefix());
      let calls = 0;
      queue.process(
        'key-validate',
        task(() => ++calls),
      );
      const payload = { groupId: 4, status: 'all' } as const;
      await queue.enqueue('key-validate', payload, { jobId: 'validate-4' });
      await until(
        () => queue.status('validate-4'),
        (s) => s?.result === 1,
      );
      await queue.enqueue('key-validate', payload, { jobId: 'validate-4' });
      const again = await until(
        () => queue.status('validate-4'),
        (s) => s?.result === 2,
      );
      expect(again).toMatchObject({ state: 'succeeded', id: 'validate-4' });
    });

    it('refuses a jobId BullMQ cannot store', async () => {
      const queue = open(newPrefix());
      await expect(queue.enqueue('key-recheck', {}, { jobId: 'a:b' })).rejects.toThrow(RangeError);
      await expect(queue.enqueue('key-recheck', {}, { jobId: '42' })).rejects.toThrow(RangeError);
    });

    it('keeps one schedule when several replicas declare it, and runs it once per tick', async () => {
      const prefix = newPrefix();
      const replicas = [open(prefix), open(prefix), open(prefix)];
      const runs: unknown[] = [];
      for (const r of replicas) {
        r.process(
          'log-retention',
          task((job) => runs.push(job.payload)),
        );
        r.schedule('log-retention', 60_000, { retentionDays: 3 });
      }
      const client = new Redis(url);
      const bull = new Queue('log-retention', { connection: client, prefix });
      try {
        await until(
          () => runs.length,
          (n) => n > 0,
        );
        await sleep(300);
        expect(runs).toEqual([{ retentionDays: 3 }]);
        expect(await bull.getJobSchedulers()).toMatchObject([{ every: 60_000 }]);
        // The next tick waits in BullMQ as a delayed job; like the memory adapter's timer, it is no task yet.
        expect(await replicas[0]?.list({ active: true })).toEqual([]);
      } finally {
        await bull.close();
        client.disconnect();
      }
    });

    it('rejects enqueue while Redis is unreachable, reports it, and carries on once it is back', async () => {
      const target = new URL(url);
      const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
      proxies.push(proxy);
      const through = new URL(url);
      through.hostname = '127.0.0.1';
      through.port = String(proxy.port);
      const messages: string[] = [];
      const record = (_obj: object, msg: string): void => void messages.push(msg);
      const queue = open(newPrefix(), {
        connection: through.href,
        timeoutMs: 500,
        closeTimeoutMs: 2000,
        logger: { info: record, warn: record, error: record },
      });
      queue.process(
        'key-recheck',
        task(() => 'ran'),
      );
      const before = await queue.enqueue('key-recheck', {});
      await until(() => queue.status(before.id), finished);

      await proxy.down();
      const refusedAt = Date.now();
      await expect(queue.enqueue('key-recheck', {})).rejects.toThrow(QueueUnavailableError);
      expect(Date.now() - refusedAt).toBeLessThan(2000);
      await until(
        () => messages,
        (m) => m.includes('job queue: Redis error'),
      );
      await sleep(1500); // long enough for several reconnect attempts to fail

      await proxy.up();
      const enqueued = await until(
        () => queue.enqueue('key-recheck', {}).catch(() => null),
        (r) => r !== null,
        20_000,
      );
      const after = await until(() => queue.status(enqueued?.id ?? ''), finished, 30_000);
      expect(after).toMatchObject({ state: 'succeeded', result: 'ran' });
    }, 60_000);
  });
});
