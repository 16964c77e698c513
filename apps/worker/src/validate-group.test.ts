import { PermanentJobError } from '@keyway/queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFixture } from './testing/fixture';
import type { Fixture } from './testing/fixture';
import { validateGroupKeys } from './validate-group';

describe('validateGroupKeys', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it('marks active keys that fail through their own fault invalid, and only those', async () => {
    const revoked = 'sk-revoked-0123456789abcdefXYZ';
    f.fake.setKeyBehaviour(revoked, { status: 401, message: `Incorrect API key provided: ${revoked}.` });
    f.fake.setKeyBehaviour('sk-broke-0123456789abcdef', { status: 429, errorCode: 'insufficient_quota' });
    f.fake.setKeyBehaviour('sk-busy-0123456789abcdef', { status: 503 });
    const group = await f.addGroup();
    const good = await f.addKey(group.id, 'sk-good-0123456789abcdef');
    const bad = await f.addKey(group.id, revoked);
    const broke = await f.addKey(group.id, 'sk-broke-0123456789abcdef');
    const busy = await f.addKey(group.id, 'sk-busy-0123456789abcdef');
    await f.addKey(group.id, 'sk-invalid-0123456789abcdef', { status: 'invalid' });

    const summary = await validateGroupKeys(f.deps, { groupId: group.id, status: 'active' });

    expect(summary).toEqual({
      groupId: group.id,
      total: 4,
      checked: 4,
      valid: 1,
      restored: 0,
      invalidated: 2,
      failed: 3,
      skipped: 0,
    });
    expect(f.fake.keysSeen()).not.toContain('sk-invalid-0123456789abcdef');
    expect(await f.keyRow(good)).toMatchObject({ status: 'active' });
    expect((await f.keyRow(good)).lastCheckedAt).not.toBeNull();
    for (const id of [bad, broke]) {
      expect(f.pool.health(group.id, id)?.status).toBe('invalid');
      expect((await f.keyRow(id)).status).toBe('invalid');
    }
    const badRow = await f.keyRow(bad);
    expect(badRow.lastError).toMatch(/^401 unauthorized/);
    expect(badRow.lastError).not.toContain(revoked);
    expect(f.pool.health(group.id, bad)?.lastError).toBe(badRow.lastError);
    expect(f.pool.health(group.id, busy)?.status).toBe('active');
    const busyRow = await f.keyRow(busy);
    expect(busyRow.status).toBe('active');
    expect(busyRow.lastError).toMatch(/^503/);
  });

  it('restores invalid keys that pass when asked for the invalid ones', async () => {
    const group = await f.addGroup();
    const healed = await f.addKey(group.id, 'sk-healed-0123456789abcdef', {
      status: 'invalid',
      failureCount: 3,
    });
    const still = await f.addKey(group.id, 'bad-key-0123456789abcdef', { status: 'invalid' });
    await f.addKey(group.id, 'sk-active-0123456789abcdef');

    const summary = await validateGroupKeys(f.deps, { groupId: group.id, status: 'invalid' });

    expect(summary).toMatchObject({ total: 2, checked: 2, valid: 1, restored: 1, invalidated: 0, failed: 1 });
    expect(f.pool.health(group.id, healed)).toMatchObject({ status: 'active', failureCount: 0 });
    expect(await f.keyRow(healed)).toMatchObject({ status: 'active', failureCount: 0, lastError: null });
    const stillRow = await f.keyRow(still);
    expect(stillRow.status).toBe('invalid');
    expect(stillRow.lastError).toMatch(/^401/);
  });

  it('checks active, cooling and invalid keys for "all", never disabled ones', async () => {
    const group = await f.addGroup();
    await f.addKey(group.id, 'sk-active-0123456789abcdef');
    const cooling = await f.addKey(group.id, 'sk-cooling-0123456789abcdef', {
      status: 'cooling',
      cooldownUntil: Date.now() + 600_000,
    });
    await f.addKey(group.id, 'sk-invalid-0123456789abcdef', { status: 'invalid' });
    const disabled = await f.addKey(group.id, 'sk-disabled-0123456789abcdef', { status: 'disabled' });

    const summary = await validateGroupKeys(f.deps, { groupId: group.id, status: 'all' });

    expect(summary).toMatchObject({ total: 3, checked: 3, valid: 3, restored: 2 });
    expect(f.fake.keysSeen()).not.toContain('sk-disabled-0123456789abcdef');
    expect(f.pool.health(group.id, cooling)?.status).toBe('active');
    expect((await f.keyRow(disabled)).status).toBe('disabled');
  });

  it('reports progress from 0 to the number of selected keys', async () => {
    const group = await f.addGroup();
    for (let i = 0; i < 5; i++) await f.addKey(group.id, `sk-k${i}-0123456789abcdef`);
    const reports: Array<[number, number]> = [];

    await validateGroupKeys(f.deps, { groupId: group.id, status: 'active' }, (p, t) => {
      reports.push([p, t]);
      return Promise.resolve();
    });

    expect(reports[0]).toEqual([0, 5]);
    expect(reports.at(-1)).toEqual([5, 5]);
    expect(reports.map(([p]) => p)).toEqual([...reports.map(([p]) => p)].sort((a, b) => a - b));
  });

  it('fails permanently for a missing or aggregate group', async () => {
    const aggregate = await f.addGroup({ type: 'aggregate', upstreams: [] });
    await expect(validateGroupKeys(f.deps, { groupId: 9999, status: 'all' })).rejects.toThrow(
      PermanentJobError,
    );
    await expect(validateGroupKeys(f.deps, { groupId: aggregate.id, status: 'all' })).rejects.toThrow(
      /aggregate/,
    );
  });
});
