import { MemoryJobQueue } from '@keyway/queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorker } from './app';
import { createFixture } from './testing/fixture';
import type { Fixture } from './testing/fixture';
import { finished } from './testing/jobs';

describe('key-test jobs', () => {
  let f: Fixture;
  let queue: MemoryJobQueue;
  beforeEach(async () => {
    f = await createFixture();
    queue = new MemoryJobQueue({ backoffMs: 10 });
    createWorker({ ...f.deps, queue }, { jobs: ['key-test'] });
  });
  afterEach(async () => {
    await queue.close();
    await f.close();
  });

  it('restores a key that passes and reports the upstream status', async () => {
    const group = await f.addGroup();
    const id = await f.addKey(group.id, 'sk-fine-0123456789abcdef', { status: 'invalid' });
    const s = await finished(queue, (await queue.enqueue('key-test', { groupId: group.id, keyId: id })).id);
    expect(s).toMatchObject({ state: 'succeeded', result: { valid: true, statusCode: 200, error: null } });
    expect(f.pool.health(group.id, id)?.status).toBe('active');
    expect((await f.keyRow(id)).lastCheckedAt).not.toBeNull();
  });

  it('blacklists a revoked key without the key in the error', async () => {
    const revoked = 'sk-revoked-0123456789abcdefXYZ';
    f.fake.setKeyBehaviour(revoked, { status: 401, message: `Incorrect API key provided: ${revoked}.` });
    const group = await f.addGroup();
    const id = await f.addKey(group.id, revoked);
    const s = await finished(queue, (await queue.enqueue('key-test', { groupId: group.id, keyId: id })).id);
    expect(s).toMatchObject({ state: 'succeeded', result: { valid: false, statusCode: 401 } });
    expect(JSON.stringify(s.result)).not.toContain(revoked);
    expect(f.pool.health(group.id, id)?.status).toBe('invalid');
  });

  it('fails at once, without retries, for a key that no longer exists', async () => {
    const group = await f.addGroup();
    const s = await finished(queue, (await queue.enqueue('key-test', { groupId: group.id, keyId: 4242 })).id);
    expect(s).toMatchObject({ state: 'failed', error: 'the key no longer exists' });
  });
});
