import { MemoryJobQueue } from '@keyway/queue';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWorker } from './app';
import { createFixture, SEALED, UNDECRYPTABLE } from './testing/fixture';
import type { Fixture } from './testing/fixture';
import { finished } from './testing/jobs';

const K = (n: number): string => `sk-import-${String(n).padStart(5, '0')}-abcdefghijkl`;

describe('key-import jobs', () => {
  let f: Fixture;
  let queue: MemoryJobQueue;
  beforeEach(async () => {
    f = await createFixture();
    queue = new MemoryJobQueue({ backoffMs: 10 });
    createWorker({ ...f.deps, queue }, { jobs: ['key-import'] });
  });
  afterEach(async () => {
    await queue.close();
    await f.close();
  });

  /** Enqueues keys sealed as the control plane seals them and waits for the job. */
  const runImport = async (groupId: number, keys: string[]) => {
    const { id } = await queue.enqueue('key-import', {
      groupId,
      keys: keys.map((k) => f.deps.keyCipher.seal(k)),
    });
    return finished(queue, id);
  };

  it('stores the keys sealed, puts them in the key pool and reports progress up to the total', async () => {
    const group = await f.addGroup();
    const keys = Array.from({ length: 1200 }, (_, i) => K(i));

    const s = await runImport(group.id, keys);

    expect(s).toMatchObject({
      state: 'succeeded',
      processed: 1200,
      total: 1200,
      result: { added: 1200, ignored: 0, total: 1200 },
    });
    const rows = await f.db.apiKey.findMany({ where: { groupId: group.id }, orderBy: { id: 'asc' } });
    expect(rows[0]?.keyValue).toBe(`${SEALED}${K(0)}`);
    expect(f.pool.keyCount(group.id)).toBe(1200);
    const picked = f.pool.pick(group.id);
    expect(picked.ok && keys.includes(picked.key.value)).toBe(true);
  });

  it('ignores keys the group has, so an import run again adds only the rest and keeps live health', async () => {
    const group = await f.addGroup();
    const known = await f.addKey(group.id, K(1), { status: 'invalid' });

    const s = await runImport(group.id, [K(1), K(2), K(3)]);

    expect(s).toMatchObject({ state: 'succeeded', result: { added: 2, ignored: 1, total: 3 } });
    expect(f.pool.health(group.id, known)?.status).toBe('invalid');
    expect(f.pool.keyCount(group.id)).toBe(3);
  });

  it('fails an import into a missing or aggregate group at once, adding nothing', async () => {
    const aggregate = await f.addGroup({ type: 'aggregate' });
    const missing = await runImport(4242, [K(1)]);
    const toAggregate = await runImport(aggregate.id, [K(1)]);
    expect(missing).toMatchObject({ state: 'failed', error: 'group 4242 not found' });
    expect(toAggregate).toMatchObject({
      state: 'failed',
      error: expect.stringContaining('aggregate') as string,
    });
    expect(await f.db.apiKey.count()).toBe(0);
  });

  it('fails an import whose keys this process cannot open without retrying, naming no key', async () => {
    const group = await f.addGroup();
    const open = vi.spyOn(f.deps.keyCipher, 'open');
    const garbled = `${UNDECRYPTABLE}${K(2)}`;
    const { id } = await queue.enqueue('key-import', {
      groupId: group.id,
      keys: [f.deps.keyCipher.seal(K(1)), garbled],
    });
    const s = await finished(queue, id);
    expect(s.state).toBe('failed');
    expect(s.error).toMatch(/cannot be opened/);
    expect(s.error).not.toContain(K(2));
    expect(open.mock.calls.filter(([v]) => v === garbled)).toHaveLength(1);
    expect(await f.db.apiKey.count()).toBe(0);
  });
});
