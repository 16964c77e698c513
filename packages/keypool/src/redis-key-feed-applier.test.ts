import { describe, expect, it } from 'vitest';
import { keyRecords } from './contract';
import type { KeyStateChange, PoolKeyRecord } from './port';
import type { KeyEvent } from './redis-key-event-feed';
import { KeyFeedApplier, parseKeyEvent } from './redis-key-feed-applier';
import type { StoredKey } from './redis-key-store';
import { MirrorState } from './redis-mirror-state';

const gid = 5;
const revoked = {
  status: 'invalid',
  failureCount: 3,
  cooldownUntil: null,
  rateStrikes: 1,
  lastError: 'revoked',
} as const;

const stateEvent = (over: Partial<Extract<KeyEvent, { type: 'state' }>> = {}): KeyEvent => ({
  type: 'state',
  origin: 'other',
  groupId: gid,
  keyId: 1,
  version: 2,
  state: revoked,
  cause: 'auth',
  at: 1_700_000_000_000,
  ...over,
});

/** A replica's mirror with `records` loaded at `version`, an applier on it, and a fake Redis to read keys from. */
function replica(records: PoolKeyRecord[], version = 1) {
  const state = new MirrorState(() => undefined);
  const redis = new Map<number, StoredKey>();
  const applier = new KeyFeedApplier(state, {
    origin: 'me',
    allGroups: true,
    readKeys: (ids) => Promise.resolve(ids.flatMap((id) => redis.get(id) ?? [])),
  });
  state.groups.add(gid);
  for (const r of records) state.known.set(r.id, { groupId: gid, value: r.value, version });
  state.mirror.apply({ kind: 'load', groupId: gid, keys: records });
  const heard: KeyStateChange[] = [];
  state.onChange((c) => heard.push(c));
  return { state, applier, redis, heard };
}

describe('parseKeyEvent', () => {
  it('reads back every kind of event a replica publishes', () => {
    const events: KeyEvent[] = [
      stateEvent(),
      stateEvent({
        state: { status: 'cooling', failureCount: 0, cooldownUntil: 5, rateStrikes: 0, lastError: null },
      }),
      { type: 'upsert', origin: 'a', groupId: gid, keyIds: [1, 2], at: 1 },
      { type: 'remove', origin: 'a', groupId: gid, keyIds: [], at: 1 },
      { type: 'drop', origin: 'a', groupId: gid, at: 1 },
    ];
    for (const e of events) expect(parseKeyEvent(JSON.stringify(e))).toEqual(e);
  });

  it('keeps the well-formed model coolings of a state and drops the rest, without rejecting the event', () => {
    const modelCooling = { 'model-a': { until: 9, reason: 'quota (model-a)' } };
    const withCooling = stateEvent({ state: { ...revoked, modelCooling } });
    expect(parseKeyEvent(JSON.stringify(withCooling))).toEqual(withCooling);
    const garbled = {
      ...stateEvent(),
      state: { ...revoked, modelCooling: { ...modelCooling, 'model-b': { until: 'soon' }, 'model-c': 7 } },
    };
    expect(parseKeyEvent(JSON.stringify(garbled))).toEqual(withCooling);
    const notAMap = { ...stateEvent(), state: { ...revoked, modelCooling: 'hot' } };
    expect(parseKeyEvent(JSON.stringify(notAMap))).toEqual(stateEvent());
  });

  it.each([
    ['not JSON', '{"type":"state"'],
    ['JSON that is not an object', '[1,2]'],
    ['null', 'null'],
    ['an unknown type', JSON.stringify({ ...stateEvent(), type: 'rename' })],
    ['no origin', JSON.stringify({ ...stateEvent(), origin: undefined })],
    ['a group id that is not an integer', JSON.stringify({ ...stateEvent(), groupId: '5' })],
    ['no time', JSON.stringify({ type: 'drop', origin: 'a', groupId: gid })],
    ['a fractional version', JSON.stringify({ ...stateEvent(), version: 1.5 })],
    ['an unknown status', JSON.stringify({ ...stateEvent(), state: { ...revoked, status: 'gone' } })],
    ['an unknown cause', JSON.stringify({ ...stateEvent(), cause: 'whatever' })],
    ['no state', JSON.stringify({ ...stateEvent(), state: null })],
    ['a text failure count', JSON.stringify({ ...stateEvent(), state: { ...revoked, failureCount: '3' } })],
    [
      'key ids that are not numbers',
      JSON.stringify({ type: 'remove', origin: 'a', groupId: 1, keyIds: ['1'], at: 1 }),
    ],
  ])('rejects an entry with %s', (_what, raw) => {
    expect(parseKeyEvent(raw)).toBeUndefined();
  });
});

describe('KeyFeedApplier', () => {
  it('skips malformed entries with a count, never throwing, and keeps applying the good ones', () => {
    const { applier, state } = replica(keyRecords(gid, 2));
    expect(() => {
      applier.handle('not json');
      applier.handle(JSON.stringify({ ...stateEvent(), keyId: 'one' }));
      applier.handle(JSON.stringify(stateEvent()));
    }).not.toThrow();
    expect(applier.malformed).toBe(2);
    expect(state.mirror.health(gid, 1)).toMatchObject({ status: 'invalid', lastError: 'revoked' });
  });

  it("mirrors another replica's newer state as a remote change, and ignores stale, own and in-flight ones", () => {
    const { applier, state, heard } = replica(keyRecords(gid, 3), 4);
    applier.handle(JSON.stringify(stateEvent({ version: 4 })));
    applier.handle(JSON.stringify(stateEvent({ version: 9, origin: 'me' })));
    state.pending.set(2, []);
    applier.handle(JSON.stringify(stateEvent({ version: 9, keyId: 2 })));
    expect(heard).toEqual([]);
    expect(state.mirror.hasUsable(gid)).toBe(true);

    applier.handle(JSON.stringify(stateEvent({ version: 5, keyId: 3 })));
    expect(heard).toEqual([
      expect.objectContaining({ keyId: 3, status: 'invalid', cause: 'auth', remote: true }),
    ]);
    expect(state.mirror.health(gid, 3)).toEqual(revoked);
    expect(state.known.get(3)?.version).toBe(5);
    expect(applier.malformed).toBe(0);
  });

  it("mirrors another replica's model coolings: the key is skipped for that model only", () => {
    const { applier, state, heard } = replica(keyRecords(gid, 2), 1);
    const until = Date.now() + 60_000;
    const active = {
      status: 'active',
      failureCount: 0,
      cooldownUntil: null,
      rateStrikes: 0,
      lastError: null,
    } as const;
    const modelCooling = { 'model-a': { until, reason: 'quota (model-a)' } };
    applier.handle(
      JSON.stringify(stateEvent({ version: 2, cause: 'quota', state: { ...active, modelCooling } })),
    );
    expect(heard.map((c) => [c.keyId, c.status, c.modelCooling])).toEqual([[1, 'active', modelCooling]]);
    const picks = (model: string) =>
      new Set(
        Array.from({ length: 4 }, () => state.mirror.pick(gid, undefined, undefined, { model })).map(
          (r) => r.ok && r.key.id,
        ),
      );
    expect(picks('model-a')).toEqual(new Set([2]));
    expect(picks('model-b')).toEqual(new Set([1, 2]));

    // The other replica's operator restores the key: its model coolings go with the next state.
    applier.handle(JSON.stringify(stateEvent({ version: 3, cause: 'manual', state: active })));
    expect(picks('model-a')).toEqual(new Set([1, 2]));
  });

  it('adds upserted keys read from Redis, and applies removes and drops', async () => {
    const { applier, state, redis } = replica(keyRecords(gid, 2));
    const [added] = keyRecords(gid, 1, 3) as [PoolKeyRecord];
    redis.set(3, { record: added, version: 1 });
    applier.handle(JSON.stringify({ type: 'upsert', origin: 'other', groupId: gid, keyIds: [3], at: 1 }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(state.mirror.keyCount(gid)).toBe(3);
    expect(state.known.get(3)).toEqual({ groupId: gid, value: added.value, version: 1 });

    applier.handle(JSON.stringify({ type: 'remove', origin: 'other', groupId: gid, keyIds: [1], at: 1 }));
    expect(state.mirror.keyCount(gid)).toBe(2);
    expect(state.known.has(1)).toBe(false);
    applier.handle(JSON.stringify({ type: 'drop', origin: 'other', groupId: gid, at: 1 }));
    expect(state.mirror.keyCount(gid)).toBe(0);
    expect(state.groups.has(gid)).toBe(false);
  });
});
