import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PickResult } from '@keyway/keypool';
import { describe, expect, it, vi } from 'vitest';
import { buildSnapshot } from '../test/harness';
import type { GroupSpec } from '../test/harness';
import type { HealthView, PoolView, Step } from './attempt-planner';
import { AttemptPlanner, tiersOf } from './attempt-planner';
import type { ForwardContext } from './context';
import { compileRuntime } from './runtime';
import type { GroupRuntime } from './runtime';
import type { AffinityMapping, AffinityShare } from './session-affinity';
import { createSessionAffinity } from './session-affinity';

const UPSTREAM = ['http://127.0.0.1:9'];
const SESSION = { mode: 'session', header: 'x-session-id', ttlSeconds: 60 } as const;

function groups(specs: GroupSpec[]): ReadonlyMap<string, GroupRuntime> {
  return compileRuntime(buildSnapshot({ groups: specs }).snapshot).groups;
}

/** Groups `g` and `h` with affinity on (`h` reading the session from `hHeader`). */
function twoGroups(hHeader: string = SESSION.header): [GroupRuntime, GroupRuntime] {
  const all = groups([
    { name: 'g', upstreams: UPSTREAM, affinity: SESSION },
    { name: 'h', upstreams: UPSTREAM, affinity: { ...SESSION, header: hHeader } },
  ]);
  return [all.get('g')!, all.get('h')!];
}

function sessionGroup(ttlSeconds = 60): GroupRuntime {
  return groups([{ name: 'g', upstreams: UPSTREAM, affinity: { ...SESSION, ttlSeconds } }]).get('g')!;
}

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

function ctxOf(
  body: unknown,
  headers: Record<string, string> = {},
  proxyKey = 'sk-test-proxy-0001',
): ForwardContext {
  return {
    req: { headers } as unknown as IncomingMessage,
    res: {} as ServerResponse,
    requestId: 'r1',
    group: undefined as unknown as GroupRuntime,
    path: '/v1/chat/completions',
    query: '',
    body: Buffer.from(JSON.stringify(body)),
    proxyKey,
    proxyKeyMasked: null,
    accessKey: null,
    clientIp: '127.0.0.1',
    keepForwarded: false,
    started: 0,
    startedAt: 0,
    closeHook: null,
    sessionLookup: null,
  };
}

/** An in-process stand-in for the Redis share: what one side publishes, the others receive. */
function hub() {
  const sides: Array<(m: AffinityMapping) => void> = [];
  const published: AffinityMapping[] = [];
  const side = (): AffinityShare => {
    let mine: ((m: AffinityMapping) => void) | undefined;
    return {
      publish(m) {
        published.push(m);
        for (const s of sides) if (s !== mine) s(m);
      },
      subscribe(onMapping) {
        mine = onMapping;
        sides.push(onMapping);
      },
      close: () => Promise.resolve(),
    };
  };
  return { side, published };
}

describe('createSessionAffinity', () => {
  it('remembers the key that served a session, per group', () => {
    const a = createSessionAffinity();
    const [g, h] = twoGroups();
    expect(a.preferred(g, 's1')).toBeUndefined();
    a.served(g, 's1', 7);
    a.served(g, 's2', 8);
    expect(a.preferred(g, 's1')).toBe(7);
    expect(a.preferred(g, 's2')).toBe(8);
    expect(a.preferred(h, 's1')).toBeUndefined();
    a.served(g, 's1', 9);
    expect(a.preferred(g, 's1')).toBe(9);
  });

  it('forgets a session unused for its TTL, and each use starts the TTL again', () => {
    const c = clock();
    const a = createSessionAffinity({ now: c.now });
    const g = sessionGroup(60);
    a.served(g, 's', 7);
    c.t += 50_000;
    expect(a.preferred(g, 's')).toBe(7);
    c.t += 50_000; // 100 s after serving, 50 s after the last use
    expect(a.preferred(g, 's')).toBe(7);
    c.t += 60_001;
    expect(a.preferred(g, 's')).toBeUndefined();
    expect(a.size).toBe(0);
  });

  it('keeps at most maxEntries sessions, dropping the least recently used', () => {
    const c = clock();
    const a = createSessionAffinity({ maxEntries: 3, now: c.now });
    const g = sessionGroup();
    for (const [s, k] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      a.served(g, s, k);
    c.t += 1000;
    expect(a.preferred(g, 'a')).toBe(1); // a is now the most recent
    a.served(g, 'd', 4);
    expect(a.size).toBe(3);
    expect(a.preferred(g, 'b')).toBeUndefined();
    expect([a.preferred(g, 'a'), a.preferred(g, 'c'), a.preferred(g, 'd')]).toEqual([1, 3, 4]);
  });

  it('moves a busy session up the LRU order at most once a second, but refreshes its TTL on every use', () => {
    const c = clock();
    const a = createSessionAffinity({ maxEntries: 2, now: c.now });
    const g = sessionGroup(10);
    a.served(g, 'a', 1);
    a.served(g, 'b', 2);
    // Used again within the second it was stored: its place in the order stays, so it is the one dropped.
    c.t += 500;
    expect(a.preferred(g, 'a')).toBe(1);
    a.served(g, 'c', 3);
    expect(a.preferred(g, 'a')).toBeUndefined();
    expect(a.preferred(g, 'b')).toBe(2);
    // Used every 6 s for a minute: a 10 s TTL never runs out.
    for (let i = 0; i < 10; i++) {
      c.t += 6000;
      expect(a.preferred(g, 'c')).toBe(3);
    }
  });

  it('sweeps expired sessions as new ones arrive', () => {
    const c = clock();
    const a = createSessionAffinity({ now: c.now });
    const g = sessionGroup(10);
    for (let i = 0; i < 10; i++) a.served(g, `old-${i}`, i);
    c.t += 11_000;
    for (let i = 0; i < 5; i++) a.served(g, `new-${i}`, i);
    expect(a.size).toBe(5);
  });

  it('does nothing for a group with affinity off', () => {
    const a = createSessionAffinity();
    const off = groups([{ name: 'off', upstreams: UPSTREAM }]).get('off')!;
    a.served(off, 's', 7);
    expect(a.preferred(off, 's')).toBeUndefined();
    expect(a.size).toBe(0);
    expect(a.sessionOf(ctxOf({ prompt_cache_key: 'k' }), off)).toBeNull();
  });
});

describe('sessionOf', () => {
  it("reads the request's session with the group's header, and reads the body once per request", () => {
    const a = createSessionAffinity();
    const [g, h] = twoGroups('x-thread');
    const body = { messages: [{ role: 'user', content: 'hello' }] };
    const ctx = ctxOf(body, { 'x-thread': 't-1' });
    const parse = vi.spyOn(JSON, 'parse');
    const viaBody = a.sessionOf(ctx, g);
    expect(a.sessionOf(ctx, g)).toBe(viaBody);
    const viaHeader = a.sessionOf(ctx, h);
    expect(parse).toHaveBeenCalledTimes(1);
    parse.mockRestore();
    expect(viaBody).not.toBeNull();
    expect(viaHeader).not.toBeNull();
    expect(viaHeader).not.toBe(viaBody);
    // The next turn of the conversation is the same session.
    const next = ctxOf({
      messages: [...body.messages, { role: 'assistant', content: 'hi' }, { role: 'user', content: 'more' }],
    });
    expect(a.sessionOf(next, g)).toBe(viaBody);
  });
});

describe('sharing between replicas', () => {
  it('publishes a new or moved session, not a repeat, and the other side installs it', () => {
    const { side, published } = hub();
    const a = createSessionAffinity({ share: side() });
    const b = createSessionAffinity({ share: side() });
    const g = sessionGroup(60);
    a.served(g, 's', 7);
    a.served(g, 's', 7);
    expect(published).toEqual([{ groupId: g.id, session: 's', keyId: 7, ttlMs: 60_000 }]);
    expect(b.preferred(g, 's')).toBe(7);
    b.served(g, 's', 9);
    expect(a.preferred(g, 's')).toBe(9);
    expect(published).toHaveLength(2);
  });

  it('publishes a session again once half its TTL has passed, so other replicas keep it', () => {
    const c = clock();
    const { side, published } = hub();
    const a = createSessionAffinity({ share: side(), now: c.now });
    const g = sessionGroup(60);
    a.served(g, 's', 7);
    c.t += 20_000;
    a.served(g, 's', 7);
    expect(published).toHaveLength(1);
    c.t += 11_000;
    a.served(g, 's', 7);
    expect(published).toHaveLength(2);
  });
});

describe('with the attempt planner', () => {
  /** A pool handing out keys in order, the preferred one first while it is enabled. */
  function pool(keys: number[], disabled: Set<number>): PoolView {
    return {
      pick(_groupId, avoid, _now, want): PickResult {
        const usable = keys.filter((k) => !disabled.has(k) && !avoid?.has(k));
        const id = want?.prefer !== undefined && usable.includes(want.prefer) ? want.prefer : usable[0];
        if (id === undefined) return { ok: false, reason: 'empty' };
        return { ok: true, key: { id, value: `sk-test-${id}` }, probe: false };
      },
      hasUsable: () => keys.some((k) => !disabled.has(k)),
    };
  }
  const healthy: HealthView = { guardOpen: () => null, isPenalized: () => false };

  function firstKey(step: Step | Promise<Step>): number {
    if (step instanceof Promise || step.kind !== 'send') throw new Error('expected a send step');
    return step.key.id;
  }

  it('keeps a conversation on one key for 20 turns and moves it at once when that key is disabled', () => {
    const a = createSessionAffinity();
    const g = sessionGroup();
    const disabled = new Set<number>();
    const p = pool([1, 2, 3], disabled);
    const turn = (n: number): number => {
      const messages = [{ role: 'user', content: 'start' }];
      for (let i = 1; i < n; i++)
        messages.push({ role: 'assistant', content: `a${i}` }, { role: 'user', content: `q${i}` });
      const ctx = ctxOf({ messages });
      const sessionOf = (group: GroupRuntime) => a.sessionOf(ctx, group);
      const planner = new AttemptPlanner(tiersOf(g, 'gpt-4o'), p, healthy, 'retry', undefined, {
        affinity: a,
        sessionOf,
      });
      const key = firstKey(planner.next());
      a.served(g, sessionOf(g)!, key);
      return key;
    };
    // Key 1 is away when the conversation starts; once back, the pool would hand it out first again.
    disabled.add(1);
    const first = turn(1);
    expect(first).toBe(2);
    disabled.delete(1);
    for (let n = 2; n <= 20; n++) expect(turn(n)).toBe(first);
    disabled.add(first);
    const moved = turn(21);
    expect(moved).not.toBe(first);
    disabled.delete(first);
    // It stays where it moved to, even once the old key is back.
    expect(turn(22)).toBe(moved);
  });
});
