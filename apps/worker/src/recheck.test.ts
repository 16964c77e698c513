import { freePort } from '@keyway/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recheckInvalidKeys } from './recheck';
import { UNDECRYPTABLE, createFixture } from './testing/fixture';
import type { Fixture } from './testing/fixture';

const MIN = 60_000;

describe('recheckInvalidKeys', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it('restores invalid keys that pass and keeps failing ones invalid with a redacted error', async () => {
    const revoked = 'sk-revoked-0123456789abcdefXYZ';
    f.fake.setKeyBehaviour(revoked, { status: 401, message: `Incorrect API key provided: ${revoked}.` });
    const group = await f.addGroup();
    const healed = await f.addKey(group.id, 'sk-healed-0123456789abcdef', {
      status: 'invalid',
      failureCount: 3,
      lastError: '401 unauthorized',
    });
    const dead = await f.addKey(group.id, revoked, { status: 'invalid', failureCount: 3 });
    await f.addKey(group.id, 'sk-active-0123456789abcdef');
    const before = Date.now();

    const summary = await recheckInvalidKeys(f.deps);

    expect(summary).toEqual({ groups: 1, checked: 2, restored: 1, failed: 1, skipped: 0 });
    expect(f.fake.keysSeen().sort()).toEqual(['sk-healed-0123456789abcdef', revoked].sort());
    expect(f.pool.health(group.id, healed)).toMatchObject({ status: 'active', failureCount: 0 });
    expect(await f.keyRow(healed)).toMatchObject({ status: 'active', failureCount: 0, lastError: null });
    expect((await f.keyRow(healed)).lastCheckedAt?.getTime()).toBeGreaterThanOrEqual(before);

    expect(f.pool.health(group.id, dead)?.status).toBe('invalid');
    const deadRow = await f.keyRow(dead);
    expect(deadRow.status).toBe('invalid');
    expect(deadRow.lastError).toMatch(/^401 unauthorized: Incorrect API key provided/);
    expect(deadRow.lastError).not.toContain(revoked);
    expect(deadRow.lastCheckedAt?.getTime()).toBeGreaterThanOrEqual(before);

    const groupRow = await f.db.group.findUniqueOrThrow({ where: { id: group.id } });
    expect(groupRow.lastValidatedAt?.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('skips groups whose re-check interval has not elapsed, honouring group overrides', async () => {
    const now = Date.now();
    const notDue = await f.addGroup({ lastValidatedAt: new Date(now - 30 * MIN) });
    const overridden = await f.addGroup({
      lastValidatedAt: new Date(now - 30 * MIN),
      config: { keyRecheckIntervalMinutes: 20 },
    });
    const never = await f.addGroup({ lastValidatedAt: null });
    await f.addKey(notDue.id, 'sk-notdue-0123456789abcdef', { status: 'invalid' });
    await f.addKey(overridden.id, 'sk-overridden-0123456789abcdef', { status: 'invalid' });
    await f.addKey(never.id, 'sk-never-0123456789abcdef', { status: 'invalid' });

    const summary = await recheckInvalidKeys({ ...f.deps, now: () => now });

    expect(summary.groups).toBe(2);
    expect(f.fake.keysSeen().sort()).toEqual(['sk-never-0123456789abcdef', 'sk-overridden-0123456789abcdef']);
    const untouched = await f.db.group.findUniqueOrThrow({ where: { id: notDue.id } });
    expect(untouched.lastValidatedAt?.getTime()).toBe(now - 30 * MIN);
    const checked = await f.db.group.findUniqueOrThrow({ where: { id: never.id } });
    expect(checked.lastValidatedAt?.getTime()).toBe(now);
  });

  it('takes the interval from the stored settings, and from the payload over them', async () => {
    const now = Date.now();
    const group = await f.addGroup({ lastValidatedAt: new Date(now - 30 * MIN) });
    await f.addKey(group.id, 'sk-key-0123456789abcdef', { status: 'invalid' });
    f.settings.keyRecheckIntervalMinutes = 120;
    const deps = { ...f.deps, now: () => now };

    expect((await recheckInvalidKeys(deps, { settings: { keyRecheckIntervalMinutes: 10 } })).groups).toBe(1);
    await f.db.group.update({ where: { id: group.id }, data: { lastValidatedAt: new Date(now - 30 * MIN) } });
    expect((await recheckInvalidKeys(deps)).groups).toBe(0);
    f.settings.keyRecheckIntervalMinutes = 15;
    expect((await recheckInvalidKeys(deps)).groups).toBe(1);
  });

  it('sends at most keyValidationConcurrency requests of a group at once', async () => {
    const group = await f.addGroup();
    for (let i = 0; i < 12; i++)
      await f.addKey(group.id, `sk-slow-${i}-0123456789abcdef`, { status: 'invalid' });
    f.fake.setDefaultBehaviour({ delayMs: 150 });

    const summary = await recheckInvalidKeys(f.deps, { settings: { keyValidationConcurrency: 3 } });

    expect(summary).toMatchObject({ checked: 12, restored: 12 });
    // Each of the 3 lanes sends its next request only after the 150 ms answer, so any 100 ms window sees at
    // most one arrival per lane: 3 when bounded and parallel, 1 when sequential, 12 when unbounded.
    const times = f.fake.requests.map((r) => r.time).sort((a, b) => a - b);
    const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 100).length));
    expect(busiest).toBe(3);
  });

  it('moves to the next upstream when the first refuses the connection', async () => {
    const dead = await freePort();
    const group = await f.addGroup({
      upstreams: [
        { url: `http://127.0.0.1:${dead}`, weight: 1 },
        { url: f.fake.url, weight: 1 },
      ],
    });
    const id = await f.addKey(group.id, 'sk-healed-0123456789abcdef', { status: 'invalid' });

    expect(await recheckInvalidKeys(f.deps)).toMatchObject({ checked: 1, restored: 1 });
    expect(f.fake.requests).toHaveLength(1);
    expect((await f.keyRow(id)).status).toBe('active');
  });

  it('leaves cooling keys alone, even past their cooldown', async () => {
    const group = await f.addGroup();
    const past = Date.now() - 1000;
    const cooledDown = await f.addKey(group.id, 'sk-cooled-0123456789abcdef', {
      status: 'cooling',
      cooldownUntil: past,
    });
    const cooling = await f.addKey(group.id, 'sk-cooling-0123456789abcdef', {
      status: 'cooling',
      cooldownUntil: Date.now() + 60 * MIN,
    });
    await f.addKey(group.id, 'sk-invalid-0123456789abcdef', { status: 'invalid' });

    const summary = await recheckInvalidKeys(f.deps);

    expect(summary).toMatchObject({ groups: 1, checked: 1 });
    expect(f.fake.keysSeen()).toEqual(['sk-invalid-0123456789abcdef']);
    expect(await f.keyRow(cooledDown)).toMatchObject({ status: 'cooling', lastCheckedAt: null });
    expect(await f.keyRow(cooling)).toMatchObject({ status: 'cooling', lastCheckedAt: null });
  });

  it('keeps an invalid key invalid when the upstream fails, recording why', async () => {
    const key = 'sk-unlucky-0123456789abcdef';
    f.fake.setKeyBehaviour(key, { status: 500, message: 'internal error' });
    const group = await f.addGroup();
    const id = await f.addKey(group.id, key, { status: 'invalid', lastError: 'old' });

    expect(await recheckInvalidKeys(f.deps)).toMatchObject({ checked: 1, restored: 0, failed: 1 });
    expect(await f.keyRow(id)).toMatchObject({
      status: 'invalid',
      lastError: '500 upstream error: internal error',
    });
  });

  it('skips and counts keys it cannot decrypt, without logging the stored value', async () => {
    const group = await f.addGroup();
    const stored = `${UNDECRYPTABLE}c2VjcmV0LWNpcGhlcnRleHQ`;
    const broken = await f.addKey(group.id, 'sk-broken-0123456789abcdef', { status: 'invalid', stored });
    await f.addKey(group.id, 'sk-fine-0123456789abcdef', { status: 'invalid' });

    const summary = await recheckInvalidKeys(f.deps);

    expect(summary).toEqual({ groups: 1, checked: 1, restored: 1, failed: 0, skipped: 1 });
    expect(f.fake.keysSeen()).toEqual(['sk-fine-0123456789abcdef']);
    expect((await f.keyRow(broken)).status).toBe('invalid');
    const warning = f.logs.find((l) => l.level === 'warn');
    expect(warning?.obj).toEqual({ groupId: group.id, keyId: broken });
    expect(JSON.stringify(f.logs)).not.toContain(stored);
  });

  it('skips a key the pool restored after the database copy was written', async () => {
    const group = await f.addGroup();
    const id = await f.addKey(group.id, 'sk-restored-0123456789abcdef', { status: 'invalid' });
    f.pool.setStatus(group.id, id, 'active', 'manual');

    expect(await recheckInvalidKeys(f.deps)).toMatchObject({ checked: 0, skipped: 1 });
    expect(f.fake.requests).toHaveLength(0);
  });

  it('re-checks standard groups only', async () => {
    const aggregate = await f.addGroup({ type: 'aggregate', upstreams: [] });
    const standard = await f.addGroup();

    expect((await recheckInvalidKeys(f.deps)).groups).toBe(1);
    const agg = await f.db.group.findUniqueOrThrow({ where: { id: aggregate.id } });
    const std = await f.db.group.findUniqueOrThrow({ where: { id: standard.id } });
    expect(agg.lastValidatedAt).toBeNull();
    expect(std.lastValidatedAt).not.toBeNull();
  });
});
