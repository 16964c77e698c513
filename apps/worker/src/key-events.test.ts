import { MemoryKeyPool } from '@keyway/keypool';
import type { KeyStateChange } from '@keyway/keypool';
import type { JobPayload } from '@keyway/queue';
import { keyEventsPayloadSchema, MemoryJobQueue } from '@keyway/queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorker } from './app';
import { createKeyEventsProcessor } from './key-events';
import { createFixture } from './testing/fixture';
import type { Fixture } from './testing/fixture';
import { finished } from './testing/jobs';

type Change = JobPayload<'key-events'>['changes'][number];

// The queue package cannot depend on the key pool, so its key-events schema restates KeyStateChange; this keeps
// the two in step from the one package that sees both.
describe('key-events payload', () => {
  it('accepts the changes a key pool emits, unchanged', async () => {
    const pool = new MemoryKeyPool();
    const changes: KeyStateChange[] = [];
    pool.onChange((c) => changes.push(c));
    await pool.load(1, [
      {
        id: 7,
        groupId: 1,
        value: 'sk-x',
        status: 'active',
        failureCount: 0,
        cooldownUntil: null,
        lastError: null,
      },
    ]);
    pool.report(
      1,
      7,
      { class: 'rate', retryAfterMs: 5000, reason: '429' },
      {
        blacklistThreshold: 3,
        rateLimitCooldownSeconds: 5,
        rateLimitMaxCooldownSeconds: 300,
        quotaCooldownMinutes: 60,
      },
    );
    pool.report(
      1,
      7,
      { class: 'quota', retryAfterMs: 60_000, reason: '429', model: 'gemini-2.5-pro' },
      {
        blacklistThreshold: 3,
        rateLimitCooldownSeconds: 5,
        rateLimitMaxCooldownSeconds: 300,
        quotaCooldownMinutes: 60,
      },
    );
    pool.setStatus(1, 7, 'invalid', 'validation', '401 unauthorized');
    expect(changes).toHaveLength(3);
    expect(changes[1]?.modelCooling).toHaveProperty('gemini-2.5-pro');
    expect(keyEventsPayloadSchema.parse({ changes })).toEqual({ changes });
  });
});

describe('key-events jobs', () => {
  let f: Fixture;
  let groupId: number;
  let keyId: number;
  beforeEach(async () => {
    f = await createFixture();
    groupId = (await f.addGroup()).id;
    keyId = await f.addKey(groupId, 'sk-events-0123456789abcdef');
  });
  afterEach(() => f.close());

  const change = (at: number, status: Change['status'], over: Partial<Change> = {}): Change => ({
    keyId,
    groupId,
    status,
    failureCount: status === 'active' ? 0 : 1,
    cooldownUntil: status === 'cooling' ? at + 60_000 : null,
    lastError: status === 'active' ? null : `${status} at ${at}`,
    cause: 'upstream',
    at,
    ...over,
  });
  const stored = async () => {
    const row = await f.keyRow(keyId);
    return { status: row.status, lastError: row.lastError };
  };

  it('persists the latest change of each key in a batch, whatever order they arrive in', async () => {
    const queue = new MemoryJobQueue({ backoffMs: 10 });
    createWorker({ ...f.deps, queue }, { jobs: ['key-events'] });
    const other = await f.addKey(groupId, 'sk-events-other-0123456789');
    const changes = [
      change(3000, 'invalid'),
      change(1000, 'cooling'),
      change(500, 'cooling', { keyId: other }),
      change(2000, 'active'),
    ];

    const s = await finished(queue, (await queue.enqueue('key-events', { changes })).id);
    await queue.close();

    expect(s).toMatchObject({ state: 'succeeded', result: { written: 2, superseded: 2, missing: 0 } });
    expect(await stored()).toEqual({ status: 'invalid', lastError: 'invalid at 3000' });
    expect((await f.keyRow(other)).status).toBe('cooling');
  });

  it("persists the model coolings a gateway sends, and clears them with the key's next change", async () => {
    const queue = new MemoryJobQueue({ backoffMs: 10 });
    createWorker({ ...f.deps, queue }, { jobs: ['key-events'] });
    const modelCooling = {
      'gemini-2.5-pro': { until: 1_800_000_000_000, reason: 'quota (gemini-2.5-pro)' },
    };
    const run = async (changes: KeyStateChange[]) =>
      finished(queue, (await queue.enqueue('key-events', { changes })).id);
    await run([{ ...change(1000, 'active'), modelCooling }]);
    expect((await f.keyRow(keyId)).modelCooling).toEqual(modelCooling);
    await run([{ ...change(2000, 'active'), modelCooling: null }]);
    expect((await f.keyRow(keyId)).modelCooling).toBeNull();
    await queue.close();
  });

  it('does not let an older change, retried or late, overwrite a newer one it wrote', async () => {
    const persist = createKeyEventsProcessor(f.deps);
    await persist({ changes: [change(2000, 'invalid')] });
    const late = await persist({ changes: [change(1000, 'cooling')] });
    expect(late).toEqual({ written: 0, superseded: 1, missing: 0 });
    expect(await stored()).toEqual({ status: 'invalid', lastError: 'invalid at 2000' });

    await persist({ changes: [change(3000, 'active')] });
    expect(await stored()).toEqual({ status: 'active', lastError: null });
  });

  it('writes a change again when the same job is retried', async () => {
    const persist = createKeyEventsProcessor(f.deps);
    const job = { changes: [change(2000, 'cooling')] };
    await persist(job);
    await f.db.apiKey.update({ where: { id: keyId }, data: { status: 'active' } });
    expect(await persist(job)).toEqual({ written: 1, superseded: 0, missing: 0 });
    expect((await stored()).status).toBe('cooling');
  });

  it('skips a change of a deleted key without failing the job', async () => {
    const persist = createKeyEventsProcessor(f.deps);
    const result = await persist({
      changes: [change(1000, 'invalid', { keyId: 999_999 }), change(1000, 'invalid')],
    });
    expect(result).toEqual({ written: 1, superseded: 0, missing: 1 });
    expect((await stored()).status).toBe('invalid');
  });

  it('remembers at most rememberedKeys keys, forgetting the longest unchanged first', async () => {
    const persist = createKeyEventsProcessor(f.deps, { rememberedKeys: 1 });
    const other = await f.addKey(groupId, 'sk-events-other-0123456789');
    await persist({ changes: [change(2000, 'invalid')] });
    await persist({ changes: [change(2000, 'invalid', { keyId: other })] });
    // The latest key is remembered…
    await persist({ changes: [change(1000, 'active', { keyId: other })] });
    expect((await f.keyRow(other)).status).toBe('invalid');
    // …the first was forgotten: its older change is written (the limitation the bound buys memory with).
    await persist({ changes: [change(1000, 'cooling')] });
    expect((await stored()).status).toBe('cooling');
  });
});
