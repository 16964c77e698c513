import { MemoryJobQueue } from '@keyway/queue';
import type { TaskStatus } from '@keyway/queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorker } from './app';
import { createFixture } from './testing/fixture';
import type { Fixture } from './testing/fixture';

async function finished(queue: MemoryJobQueue, id: string): Promise<TaskStatus> {
  for (let i = 0; i < 500; i++) {
    const s = await queue.status(id);
    if (s && (s.state === 'succeeded' || s.state === 'failed')) return s;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`job ${id} did not finish`);
}

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
});
