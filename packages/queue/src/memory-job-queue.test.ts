import { afterEach, describe, expect, it } from 'vitest';
import { jobQueueContract, task } from './contract';
import { MemoryJobQueue } from './memory-job-queue';
import { InvalidJobPayloadError } from './payloads';

jobQueueContract('MemoryJobQueue', () => new MemoryJobQueue({ backoffMs: 10 }));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function settled(queue: MemoryJobQueue, id: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const s = await queue.status(id);
    if (s?.state === 'succeeded' || s?.state === 'failed') return;
    await sleep(5);
  }
  throw new Error(`job ${id} did not finish`);
}

describe('MemoryJobQueue', () => {
  const queues: MemoryJobQueue[] = [];
  const make = (options?: ConstructorParameters<typeof MemoryJobQueue>[0]) => {
    const q = new MemoryJobQueue(options);
    queues.push(q);
    return q;
  };
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.close()));
  });

  it('keeps a finished job for the retention period, then forgets it', async () => {
    let now = 1_000_000;
    const queue = make({ now: () => now });
    queue.process(
      'log-retention',
      task(() => 'done'),
    );
    const { id } = await queue.enqueue('log-retention', {});
    await settled(queue, id);
    now += 60 * 60 * 1000 - 1;
    expect((await queue.status(id))?.result).toBe('done');
    now += 2;
    expect(await queue.status(id)).toBeNull();
    expect(await queue.list()).toEqual([]);
  });

  it('lets go of a finished job’s payload, keeping its status and result', async () => {
    const queue = make();
    queue.process(
      'log-retention',
      task(() => 'done'),
    );
    const { id } = await queue.enqueue('log-retention', { retentionDays: 7 });
    await settled(queue, id);
    expect((await queue.status(id))?.result).toBe('done');
    // Nothing reads it again; a large one (a key import's keys) would be held for the whole retention period.
    const entries = (queue as unknown as { entries: Map<string, { payload: unknown }> }).entries;
    expect(entries.get(id)?.payload).toBeNull();
  });

  it('never forgets a job that has not finished', async () => {
    let now = 0;
    const queue = make({ now: () => now });
    const { id } = await queue.enqueue('log-retention', {});
    now += 10 * 60 * 60 * 1000;
    expect((await queue.status(id))?.state).toBe('queued');
  });

  it('doubles the backoff between retries', async () => {
    const times: number[] = [];
    const queue = make({ backoffMs: 40 });
    queue.process(
      'key-recheck',
      task(() => {
        times.push(performance.now());
        throw new Error('no');
      }),
    );
    const { id } = await queue.enqueue('key-recheck', {});
    await settled(queue, id);
    const [a = 0, b = 0, c = 0] = times;
    expect(times).toHaveLength(3);
    expect(b - a).toBeGreaterThanOrEqual(35);
    expect(c - b).toBeGreaterThanOrEqual(75);
  });

  it('honours a custom number of attempts', async () => {
    let calls = 0;
    const queue = make({ attempts: 1, backoffMs: 1 });
    queue.process(
      'key-recheck',
      task(() => {
        calls++;
        throw new Error('no');
      }),
    );
    const { id } = await queue.enqueue('key-recheck', {});
    await settled(queue, id);
    expect(calls).toBe(1);
  });

  it('shows the previous error while a job waits for its retry', async () => {
    const queue = make({ backoffMs: 200 });
    queue.process(
      'key-recheck',
      task((job) => {
        if (job.attempt === 1) throw new Error('first try failed');
        return null;
      }),
    );
    const { id } = await queue.enqueue('key-recheck', {});
    await sleep(50);
    expect(await queue.status(id)).toMatchObject({ state: 'queued', error: 'first try failed' });
    await settled(queue, id);
    expect(await queue.status(id)).toMatchObject({ state: 'succeeded', error: null });
  });

  it('runs a finished job again when its jobId is enqueued anew', async () => {
    let calls = 0;
    const queue = make();
    queue.process(
      'key-validate',
      task(() => ++calls),
    );
    await queue.enqueue('key-validate', { groupId: 1, status: 'all' }, { jobId: 'v1' });
    await settled(queue, 'v1');
    await queue.enqueue('key-validate', { groupId: 1, status: 'all' }, { jobId: 'v1' });
    await settled(queue, 'v1');
    expect(calls).toBe(2);
    expect((await queue.status('v1'))?.result).toBe(2);
  });

  it('rejects an invalid payload with the zod issues', async () => {
    const queue = make();
    const error: unknown = await queue
      .enqueue('key-validate', { groupId: 1.5, status: 'all' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobPayloadError);
    expect((error as InvalidJobPayloadError).issues[0]?.path).toEqual(['groupId']);
  });

  it('refuses a second handler for the same job', () => {
    const queue = make();
    queue.process(
      'key-events',
      task(() => null),
    );
    expect(() =>
      queue.process(
        'key-events',
        task(() => null),
      ),
    ).toThrow(/already registered/);
  });

  it('refuses an invalid schedule at once', () => {
    const queue = make();
    expect(() => queue.schedule('log-retention', 0, {})).toThrow(RangeError);
    expect(() => queue.schedule('log-retention', 1000, { retentionDays: -1 })).toThrow(
      InvalidJobPayloadError,
    );
  });

  it('replaces a schedule of the same job instead of adding a second one', async () => {
    const payloads: unknown[] = [];
    const queue = make();
    queue.process(
      'log-retention',
      task((job) => {
        payloads.push(job.payload.retentionDays);
        return null;
      }),
    );
    queue.schedule('log-retention', 40, { retentionDays: 1 });
    queue.schedule('log-retention', 40, { retentionDays: 2 });
    await sleep(150);
    expect(payloads.length).toBeGreaterThanOrEqual(2);
    expect(new Set(payloads)).toEqual(new Set([2]));
  });

  it('refuses new jobs after close and starts no delayed ones', async () => {
    let calls = 0;
    const queue = make();
    queue.process(
      'log-retention',
      task(() => ++calls),
    );
    await queue.enqueue('log-retention', {}, { delayMs: 30 });
    await queue.close();
    await expect(queue.enqueue('log-retention', {})).rejects.toThrow(/closed/);
    expect(() =>
      queue.process(
        'key-events',
        task(() => null),
      ),
    ).toThrow(/closed/);
    await sleep(60);
    expect(calls).toBe(0);
  });
});
