import { describe, expect, it } from 'vitest';
import {
  checkJobId,
  isFutureTick,
  newestFirst,
  newJobId,
  queueOfJobId,
  taskStateOf,
  toTaskStatus,
} from './bullmq-jobs';
import type { StoredJob } from './bullmq-jobs';
import type { TaskStatus } from './port';

/** The fields of a BullMQ job the mapping reads. */
function storedJob(fields: Partial<StoredJob>): StoredJob {
  return {
    id: 'key-validate.1',
    timestamp: 1_000,
    attemptsMade: 0,
    failedReason: '',
    ...fields,
  } as StoredJob;
}

describe('BullMQ job ids', () => {
  it('names the queue in a generated id, and in a schedule run id', () => {
    expect(queueOfJobId(newJobId('key-import'))).toBe('key-import');
    expect(queueOfJobId('repeat:log-retention:1700000000000')).toBe('log-retention');
  });

  it('finds no queue in a caller-chosen id or an unknown name', () => {
    expect(queueOfJobId('validate-3')).toBeNull();
    expect(queueOfJobId('no-such-job.123')).toBeNull();
  });

  it('refuses ids BullMQ would reject', () => {
    for (const id of ['', '42', '-1', 'a:b', 'repeat:x:1']) expect(() => checkJobId(id)).toThrow(RangeError);
    expect(() => checkJobId('validate-3')).not.toThrow();
    expect(() => checkJobId('42a')).not.toThrow();
  });
});

describe('BullMQ states', () => {
  it('maps every BullMQ state onto the four task states', () => {
    expect(taskStateOf('waiting')).toBe('queued');
    expect(taskStateOf('delayed')).toBe('queued');
    expect(taskStateOf('prioritized')).toBe('queued');
    expect(taskStateOf('waiting-children')).toBe('queued');
    expect(taskStateOf('active')).toBe('running');
    expect(taskStateOf('completed')).toBe('succeeded');
    expect(taskStateOf('failed')).toBe('failed');
    expect(taskStateOf('unknown')).toBeNull();
  });
});

describe('toTaskStatus', () => {
  it('shows progress, result and the latest time anything happened', () => {
    const job = storedJob({
      progress: { processed: 3, total: 4, at: 5_000 },
      returnvalue: { ok: true },
      processedOn: 2_000,
      finishedOn: 4_000,
    });
    expect(toTaskStatus('key-validate', job, 'succeeded')).toEqual({
      id: 'key-validate.1',
      type: 'key-validate',
      state: 'succeeded',
      processed: 3,
      total: 4,
      result: { ok: true },
      error: null,
      createdAt: new Date(1_000).toISOString(),
      updatedAt: new Date(5_000).toISOString(),
    });
  });

  it('hides the reason of an earlier attempt once a later one succeeded', () => {
    const job = storedJob({ failedReason: 'boom 1', returnvalue: 'ok', finishedOn: 3_000 });
    expect(toTaskStatus('key-recheck', job, 'succeeded')).toMatchObject({ error: null, result: 'ok' });
    expect(toTaskStatus('key-recheck', job, 'queued')).toMatchObject({ error: 'boom 1', result: null });
  });

  it('counts progress it cannot read as none', () => {
    const status = toTaskStatus('key-import', storedJob({ progress: 42 }), 'running');
    expect(status).toMatchObject({ processed: 0, total: 0, result: null, error: null });
  });
});

describe('isFutureTick', () => {
  it('is a schedule run waiting for its time, not a delayed job a caller enqueued', () => {
    const tick = { repeatJobKey: 'log-retention', timestamp: 1_000, delay: 500 };
    expect(isFutureTick(storedJob(tick), 1_200)).toBe(true);
    expect(isFutureTick(storedJob(tick), 1_600)).toBe(false);
    expect(isFutureTick(storedJob({ timestamp: 1_000, delay: 500 }), 1_200)).toBe(false);
  });
});

describe('newestFirst', () => {
  it('orders by creation time, newest first', () => {
    const at = (id: string, ms: number) => ({ id, createdAt: new Date(ms).toISOString() }) as TaskStatus;
    const sorted = newestFirst([at('a', 1), at('b', 3), at('c', 2)]);
    expect(sorted.map((t) => t.id)).toEqual(['b', 'c', 'a']);
  });
});
