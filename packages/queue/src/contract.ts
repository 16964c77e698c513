import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobQueue, TaskStatus } from './port';
import { PermanentJobError } from './port';

/** A promise with its resolve function, to hold a handler until the test lets it go. */
interface Gate {
  promise: Promise<void>;
  open(): void;
}

function gate(): Gate {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** A handler that counts how many of its calls overlap; each call lasts until `wait` settles. */
function overlapProbe(wait: () => Promise<void>) {
  const probe = {
    runs: 0,
    running: 0,
    peak: 0,
    handler: async (): Promise<null> => {
      probe.runs++;
      probe.running++;
      probe.peak = Math.max(probe.peak, probe.running);
      await wait();
      probe.running--;
      return null;
    },
  };
  return probe;
}

/** Turns a synchronous handler body into a job handler: a throw becomes a rejection, as from an async one. */
export function task<J, R>(fn: (job: J) => R): (job: J) => Promise<R> {
  return (job) => Promise.resolve().then(() => fn(job));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `check` accepts its value; adapters backed by a server report asynchronously. */
export async function until<T>(
  read: () => Promise<T> | T,
  check: (v: T) => boolean,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(v)}`);
    await sleep(10);
  }
}

const finished = (s: TaskStatus | null) => s?.state === 'succeeded' || s?.state === 'failed';

/**
 * The behaviour every JobQueue adapter must have; run by each adapter's own test file. `make` returns a fresh,
 * empty queue that retries a failed job 3 times in all with a backoff of at most 50 ms.
 */
export function jobQueueContract(name: string, make: () => JobQueue | Promise<JobQueue>): void {
  describe(`JobQueue contract: ${name}`, () => {
    let queue: JobQueue;
    beforeEach(async () => {
      queue = await make();
    });
    afterEach(async () => {
      await queue.close();
    });

    it('validates a trusted payload once, before the handler: a bad one fails without retries', async () => {
      const seen: unknown[] = [];
      queue.process(
        'key-validate',
        task((job) => {
          seen.push(job.payload);
          return 'ran';
        }),
      );
      const good = await queue.enqueue('key-validate', { groupId: 3, status: 'all' }, { trusted: true });
      const bad = await queue.enqueue(
        'key-validate',
        { groupId: -1, status: 'nope' } as unknown as { groupId: number; status: 'all' },
        { trusted: true },
      );
      expect(await until(() => queue.status(good.id), finished)).toMatchObject({ state: 'succeeded' });
      const failed = await until(() => queue.status(bad.id), finished);
      expect(failed).toMatchObject({ state: 'failed' });
      expect(failed?.error).toMatch(/invalid key-validate payload/);
      expect(seen).toEqual([{ groupId: 3, status: 'all' }]);
    });

    it('runs an enqueued job with its payload and keeps its result', async () => {
      const seen: unknown[] = [];
      queue.process(
        'key-validate',
        task((job) => {
          seen.push(job.payload);
          return { checked: job.payload.groupId * 2 };
        }),
      );
      const { id } = await queue.enqueue('key-validate', { groupId: 21, status: 'invalid' });
      const s = await until(() => queue.status(id), finished);
      expect(seen).toEqual([{ groupId: 21, status: 'invalid' }]);
      expect(s).toMatchObject({ id, type: 'key-validate', state: 'succeeded', result: { checked: 42 } });
      expect(s?.error).toBeNull();
    });

    it('refuses a payload that does not match the job schema', async () => {
      await expect(queue.enqueue('key-validate', { groupId: -1, status: 'all' })).rejects.toThrow(
        /key-validate/,
      );
      expect(await queue.list()).toEqual([]);
    });

    it('runs jobs enqueued before their handler was registered', async () => {
      const { id } = await queue.enqueue('log-retention', { retentionDays: 3 });
      expect((await queue.status(id))?.state).toBe('queued');
      queue.process(
        'log-retention',
        task((job) => job.payload.retentionDays),
      );
      const s = await until(() => queue.status(id), finished);
      expect(s).toMatchObject({ state: 'succeeded', result: 3 });
    });

    it('shows the progress a running job reports', async () => {
      const hold = gate();
      queue.process('key-validate', async (job) => {
        await job.progress(1, 4);
        await hold.promise;
        await job.progress(4, 4);
        return null;
      });
      const { id } = await queue.enqueue('key-validate', { groupId: 1, status: 'all' });
      const running = await until(
        () => queue.status(id),
        (s) => s?.processed === 1,
      );
      expect(running).toMatchObject({ state: 'running', processed: 1, total: 4 });
      hold.open();
      const done = await until(() => queue.status(id), finished);
      expect(done).toMatchObject({ state: 'succeeded', processed: 4, total: 4 });
    });

    it('answers null for an unknown job id', async () => {
      expect(await queue.status('no-such-job')).toBeNull();
    });

    it('retries a failing job and succeeds when a later attempt does', async () => {
      const attempts: number[] = [];
      queue.process(
        'key-recheck',
        task((job) => {
          attempts.push(job.attempt);
          if (attempts.length < 3) throw new Error(`boom ${attempts.length}`);
          return 'ok';
        }),
      );
      const { id } = await queue.enqueue('key-recheck', {});
      const s = await until(() => queue.status(id), finished);
      expect(attempts).toEqual([1, 2, 3]);
      expect(s).toMatchObject({ state: 'succeeded', result: 'ok', error: null });
    });

    it('fails a job after three attempts with the last error', async () => {
      let calls = 0;
      queue.process(
        'key-recheck',
        task(() => {
          calls++;
          throw new Error(`attempt ${calls} failed`);
        }),
      );
      const { id } = await queue.enqueue('key-recheck', {});
      const s = await until(() => queue.status(id), finished);
      expect(calls).toBe(3);
      expect(s).toMatchObject({ state: 'failed', error: 'attempt 3 failed' });
    });

    it('does not retry a PermanentJobError', async () => {
      let calls = 0;
      queue.process(
        'key-validate',
        task(() => {
          calls++;
          throw new PermanentJobError('group 9 does not exist');
        }),
      );
      const { id } = await queue.enqueue('key-validate', { groupId: 9, status: 'all' });
      const s = await until(() => queue.status(id), finished);
      await sleep(150);
      expect(calls).toBe(1);
      expect(s).toMatchObject({ state: 'failed', error: 'group 9 does not exist' });
    });

    it('runs at most `concurrency` jobs of a name at once, and uses all of them', async () => {
      const hold = gate();
      const probe = overlapProbe(() => hold.promise);
      queue.process('key-import', probe.handler, { concurrency: 2 });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push((await queue.enqueue('key-import', { groupId: 1, keys: ['k'] })).id);
      await until(
        () => probe.running,
        (n) => n === 2,
      );
      await sleep(100);
      expect(probe.peak).toBe(2);
      hold.open();
      for (const id of ids) expect((await until(() => queue.status(id), finished))?.state).toBe('succeeded');
      expect(probe.peak).toBe(2);
    });

    it('runs a job enqueued twice under the same jobId once while it is queued or running', async () => {
      const hold = gate();
      let calls = 0;
      const first = await queue.enqueue(
        'key-validate',
        { groupId: 3, status: 'all' },
        { jobId: 'validate-3' },
      );
      const again = await queue.enqueue(
        'key-validate',
        { groupId: 3, status: 'all' },
        { jobId: 'validate-3' },
      );
      queue.process('key-validate', async () => {
        calls++;
        await hold.promise;
        return calls;
      });
      await until(
        () => queue.status('validate-3'),
        (s) => s?.state === 'running',
      );
      const third = await queue.enqueue(
        'key-validate',
        { groupId: 3, status: 'all' },
        { jobId: 'validate-3' },
      );
      hold.open();
      await until(() => queue.status('validate-3'), finished);
      await sleep(100);
      expect([first.id, again.id, third.id]).toEqual(['validate-3', 'validate-3', 'validate-3']);
      expect(calls).toBe(1);
    });

    it('does not start a delayed job before its delay', async () => {
      const started: number[] = [];
      queue.process(
        'log-retention',
        task(() => {
          started.push(Date.now());
          return null;
        }),
      );
      const t0 = Date.now();
      const { id } = await queue.enqueue('log-retention', {}, { delayMs: 300 });
      await sleep(100);
      expect(started).toEqual([]);
      expect((await queue.status(id))?.state).toBe('queued');
      await until(() => queue.status(id), finished);
      expect((started[0] ?? 0) - t0).toBeGreaterThanOrEqual(280);
    });

    it('lists active jobs apart from finished ones', async () => {
      const hold = gate();
      queue.process('key-validate', async () => {
        await hold.promise;
        return null;
      });
      queue.process(
        'log-retention',
        task(() => null),
      );
      const done = await queue.enqueue('log-retention', {});
      await until(() => queue.status(done.id), finished);
      const busy = await queue.enqueue('key-validate', { groupId: 5, status: 'active' });
      await until(
        () => queue.status(busy.id),
        (s) => s?.state === 'running',
      );
      const active = await queue.list({ active: true });
      expect(active.map((t) => t.id)).toEqual([busy.id]);
      const all = await queue.list();
      expect(all.map((t) => t.id).sort()).toEqual([busy.id, done.id].sort());
      hold.open();
      await until(() => queue.status(busy.id), finished);
      expect(await queue.list({ active: true })).toEqual([]);
    });

    it('runs a scheduled job repeatedly', async () => {
      const payloads: unknown[] = [];
      queue.process(
        'log-retention',
        task((job) => {
          payloads.push(job.payload);
          return null;
        }),
      );
      queue.schedule('log-retention', 50, { retentionDays: 7 });
      await until(
        () => payloads.length,
        (n) => n >= 3,
      );
      expect(payloads[0]).toEqual({ retentionDays: 7 });
    });

    it('skips a scheduled tick while the previous run is still going', async () => {
      const probe = overlapProbe(() => sleep(120));
      queue.process('key-recheck', probe.handler, { concurrency: 5 });
      queue.schedule('key-recheck', 20, {});
      await until(
        () => probe.runs,
        (n) => n >= 2,
      );
      await sleep(100);
      expect(probe.peak).toBe(1);
    });

    it('waits for running jobs on close', async () => {
      let finishedRun = false;
      let started = false;
      queue.process('key-recheck', async () => {
        started = true;
        await sleep(150);
        finishedRun = true;
        return null;
      });
      await queue.enqueue('key-recheck', {});
      await until(
        () => started,
        (v) => v,
      );
      await queue.close();
      expect(finishedRun).toBe(true);
    });
  });
}
