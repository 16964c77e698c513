import type { PickResult, PickWant } from '@keyway/keypool';
import { describe, expect, it } from 'vitest';
import { buildSnapshot } from '../test/harness';
import type { GroupSpec } from '../test/harness';
import type { HealthView, PacingView, PoolView, Step } from './attempt-planner';
import { AttemptPlanner, modeOf, singleTier, tiersOf } from './attempt-planner';
import { compileRuntime } from './runtime';

/** A pool whose groups hand out their keys in order, skipping avoided ones, then tried ones again. */
function fakePool(keys: Record<number, number[]>, cooling: Record<number, number> = {}): PoolView {
  return {
    pick(groupId, avoid): PickResult {
      if (cooling[groupId] !== undefined)
        return { ok: false, reason: 'cooling', retryAfterMs: cooling[groupId] };
      const ids = keys[groupId] ?? [];
      if (ids.length === 0) return { ok: false, reason: 'empty' };
      const id = ids.find((k) => !avoid?.has(k)) ?? ids.at(0) ?? 0;
      return { ok: true, key: { id, value: `sk-${id}` }, probe: false };
    },
    hasUsable: (groupId) => (keys[groupId]?.length ?? 0) > 0 && cooling[groupId] === undefined,
  };
}

const healthy: HealthView = { guardOpen: () => null, isPenalized: () => false };

function runtimeOf(groups: GroupSpec[]) {
  return compileRuntime(buildSnapshot({ groups }).snapshot);
}

const upstream = ['http://127.0.0.1:9'];
const retryable = { class: 'rate' as const, retryable: true, storm: false };

/** A step the planner had to produce synchronously (no pacer claiming a slice). */
function now(step: Step | Promise<Step>): Step {
  if (step instanceof Promise) throw new Error('expected a synchronous step');
  return step;
}

function sent(step: Step | Promise<Step>): { group: string; key: number } {
  if (step instanceof Promise) throw new Error('expected a synchronous step');
  if (step.kind !== 'send') throw new Error('expected a send step');
  return { group: step.candidate.group.name, key: step.key.id };
}

describe('AttemptPlanner', () => {
  it('a standard group tries its keys in turn up to maxRetries + 1 attempts, then stops', () => {
    const rt = runtimeOf([{ name: 'g', upstreams: upstream, config: { maxRetries: 2 } }]);
    const g = rt.groups.get('g')!;
    const p = new AttemptPlanner(tiersOf(g, 'm'), fakePool({ [g.id]: [1, 2] }), healthy, 'retry');
    expect(sent(p.next())).toEqual({ group: 'g', key: 1 });
    expect(sent(p.next(retryable))).toEqual({ group: 'g', key: 2 });
    // Every key tried: a standard group retries a tried one (GPT-Load's behaviour).
    expect(sent(p.next(retryable))).toEqual({ group: 'g', key: 1 });
    expect(now(p.next(retryable)).kind).toBe('stop');
    expect(p.sent).toBe(3);
  });

  it('stops at a success, a non-retryable failure and an aborted client', () => {
    const rt = runtimeOf([{ name: 'g', upstreams: upstream, config: { maxRetries: 5 } }]);
    const g = rt.groups.get('g')!;
    for (const previous of [
      { class: 'ok' as const, retryable: false, storm: false },
      { class: 'client' as const, retryable: false, storm: false },
      { class: 'aborted' as const, retryable: true, storm: false },
    ]) {
      const p = new AttemptPlanner(tiersOf(g, null), fakePool({ [g.id]: [1, 2] }), healthy, 'retry');
      now(p.next());
      expect(now(p.next(previous)).kind).toBe('stop');
    }
  });

  it('an aggregate fails over to another member once a member has no untried key, and in a storm', () => {
    const rt = runtimeOf([
      { name: 'a', upstreams: upstream },
      { name: 'b', upstreams: upstream },
      {
        name: 'agg',
        type: 'aggregate',
        config: { maxRetries: 5 },
        subGroups: [
          { group: 'a', weight: 1 },
          { group: 'b', weight: 1 },
        ],
      },
    ]);
    const agg = rt.groups.get('agg')!;
    const a = rt.groups.get('a')!;
    const b = rt.groups.get('b')!;
    const p = new AttemptPlanner(
      tiersOf(agg, null),
      fakePool({ [a.id]: [1], [b.id]: [2, 3] }),
      healthy,
      'failover',
    );
    const first = sent(p.next());
    const rest = [sent(p.next(retryable)), sent(p.next(retryable))];
    // Each key once: the member with one key is left after it, never retried with the same key.
    expect([first, ...rest].map((s) => s.key).sort()).toEqual([1, 2, 3]);
    expect(now(p.next(retryable)).kind).toBe('stop');

    const q = new AttemptPlanner(
      tiersOf(agg, null),
      fakePool({ [a.id]: [1, 4], [b.id]: [2, 3] }),
      healthy,
      'failover',
    );
    const s1 = sent(q.next());
    const s2 = sent(q.next({ class: 'upstream', retryable: true, storm: true }));
    expect(s2.group).not.toBe(s1.group);
  });

  it('says why nothing could be sent: cooling (earliest retry), storm, configuration, empty', () => {
    const rt = runtimeOf([{ name: 'g', upstreams: upstream }]);
    const g = rt.groups.get('g')!;
    const cooling = new AttemptPlanner(
      tiersOf(g, null),
      fakePool({ [g.id]: [1] }, { [g.id]: 7000 }),
      healthy,
      'retry',
    );
    expect(now(cooling.next()).kind).toBe('stop');
    expect(cooling.exhaustion()).toEqual({ kind: 'cooling', retryAfterMs: 7000 });

    const storm = new AttemptPlanner(
      tiersOf(g, null),
      fakePool({ [g.id]: [1] }),
      {
        guardOpen: () => 4000,
        isPenalized: () => false,
      },
      'retry',
    );
    expect(now(storm.next()).kind).toBe('stop');
    expect(storm.exhaustion()).toEqual({ kind: 'storm', retryAfterMs: 4000 });

    const empty = new AttemptPlanner(tiersOf(g, null), fakePool({}), healthy, 'retry');
    expect(now(empty.next()).kind).toBe('stop');
    expect(empty.exhaustion()).toEqual({ kind: 'empty' });

    const problems: string[] = [];
    const broken = { ...g, configProblem: { field: 'headerRules', reason: 'bad' } };
    const config = new AttemptPlanner(
      [singleTier({ group: broken, model: null, sentModel: null, via: broken })],
      fakePool({ [g.id]: [1] }),
      healthy,
      'retry',
      (name, p) => problems.push(`${name}:${p.field}`),
    );
    expect(now(config.next()).kind).toBe('stop');
    expect(config.exhaustion()).toMatchObject({ kind: 'config', problem: { field: 'headerRules' } });
    expect(problems).toEqual(['g:headerRules']);
  });

  it('walks tiers in order: the second only when every member of the first is exhausted', () => {
    const rt = runtimeOf([
      { name: 'free', upstreams: upstream },
      { name: 'paid', upstreams: upstream },
    ]);
    const free = rt.groups.get('free')!;
    const paid = rt.groups.get('paid')!;
    const tiers = tiersOf([free, paid], 'm');
    const p = new AttemptPlanner(tiers, fakePool({ [free.id]: [], [paid.id]: [9] }), healthy, 'failover');
    expect(sent(p.next())).toEqual({ group: 'paid', key: 9 });
    const q = new AttemptPlanner(tiers, fakePool({ [free.id]: [1], [paid.id]: [9] }), healthy, 'failover');
    expect(sent(q.next())).toEqual({ group: 'free', key: 1 });
    expect(sent(q.next(retryable))).toEqual({ group: 'paid', key: 9 });
  });

  it('prefers an upstream that is not penalised, and uses a penalised one when all are', () => {
    const rt = runtimeOf([{ name: 'g', upstreams: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] }]);
    const g = rt.groups.get('g')!;
    const one = { guardOpen: () => null, isPenalized: (u: { url: string }) => u.url.endsWith(':1') };
    const p = new AttemptPlanner(tiersOf(g, null), fakePool({ [g.id]: [1] }), one, 'retry');
    for (let i = 0; i < 4; i++) {
      const step = now(i === 0 ? p.next() : p.next(retryable));
      if (step.kind === 'send') expect(step.upstream.url).toBe('http://127.0.0.1:2');
    }
    const all = { guardOpen: () => null, isPenalized: () => true };
    const q = new AttemptPlanner(tiersOf(g, null), fakePool({ [g.id]: [1] }), all, 'retry');
    expect(now(q.next()).kind).toBe('send');
  });

  it('a key-routed request moves to the next candidate after a retryable failure, within the first budget', () => {
    const rt = runtimeOf([
      { name: 'a', upstreams: upstream, config: { maxRetries: 2 } },
      { name: 'b', upstreams: upstream, config: { maxRetries: 9 } },
      { name: 'c', upstreams: upstream },
    ]);
    const a = rt.groups.get('a')!;
    const b = rt.groups.get('b')!;
    const c = rt.groups.get('c')!;
    const pool = fakePool({ [a.id]: [1, 2], [b.id]: [3], [c.id]: [4] });
    const p = new AttemptPlanner(tiersOf([a, b, c], 'm'), pool, healthy, modeOf([a, b, c]));
    expect(sent(p.next())).toEqual({ group: 'a', key: 1 });
    expect(sent(p.next(retryable))).toEqual({ group: 'b', key: 3 });
    expect(sent(p.next(retryable))).toEqual({ group: 'c', key: 4 });
    // a's maxRetries (2) bounds the whole request, whatever the later candidates allow.
    expect(now(p.next(retryable)).kind).toBe('stop');
    expect(p.sent).toBe(3);
    expect(p.candidate?.via.name).toBe('c');
  });

  it('a key-routed request skips candidates with no usable key, and retries the last candidate left', () => {
    const rt = runtimeOf([
      { name: 'empty', upstreams: upstream, config: { maxRetries: 3 } },
      { name: 'last', upstreams: upstream },
    ]);
    const empty = rt.groups.get('empty')!;
    const last = rt.groups.get('last')!;
    const p = new AttemptPlanner(
      tiersOf([empty, last], null),
      fakePool({ [empty.id]: [], [last.id]: [5, 6] }),
      healthy,
      'advance',
    );
    expect(sent(p.next())).toEqual({ group: 'last', key: 5 });
    expect(sent(p.next(retryable))).toEqual({ group: 'last', key: 6 });
    // No other candidate: the last one retries a tried key, as /proxy/{group} would.
    expect(sent(p.next(retryable))).toEqual({ group: 'last', key: 5 });
    // A candidate whose keys are all out of rotation (it could only be probed) comes after one with a usable key.
    const probing: PoolView = {
      pick: (groupId) => ({ ok: true, key: { id: groupId * 10, value: 'sk' }, probe: groupId === empty.id }),
      hasUsable: (groupId) => groupId !== empty.id,
    };
    const q = new AttemptPlanner(tiersOf([empty, last], null), probing, healthy, 'advance');
    expect(sent(q.next())).toEqual({ group: 'last', key: last.id * 10 });
    const stops = new AttemptPlanner(
      tiersOf([empty, last], null),
      fakePool({ [empty.id]: [], [last.id]: [5] }),
      healthy,
      'advance',
    );
    now(stops.next());
    expect(now(stops.next({ class: 'client', retryable: false, storm: false })).kind).toBe('stop');
  });

  it('a key-routed candidate that is an aggregate is reached through its members and named as the parent', () => {
    const rt = runtimeOf([
      { name: 'm1', upstreams: upstream },
      { name: 'agg', type: 'aggregate', subGroups: [{ group: 'm1', weight: 1 }] },
      { name: 'std', upstreams: upstream },
    ]);
    const agg = rt.groups.get('agg')!;
    const std = rt.groups.get('std')!;
    const m1 = rt.groups.get('m1')!;
    const p = new AttemptPlanner(
      tiersOf([agg, std], null),
      fakePool({ [m1.id]: [1], [std.id]: [2] }),
      healthy,
      'advance',
    );
    const first = now(p.next());
    expect(sent(first)).toEqual({ group: 'm1', key: 1 });
    expect(first.kind === 'send' && first.candidate.via.name).toBe('agg');
    expect(sent(p.next(retryable))).toEqual({ group: 'std', key: 2 });
  });

  describe('pacing and affinity', () => {
    /** A pool that skips keys parked for a model, as the real pools do, and records what each pick asked for. */
    function pacedPool(ids: number[]) {
      const parked = new Map<number, number>();
      const wants: Array<PickWant | undefined> = [];
      const pool: PoolView & { parked: Map<number, number>; wants: typeof wants } = {
        parked,
        wants,
        pick(_groupId, avoid, _now, want): PickResult {
          wants.push(want);
          const usable = ids.filter((k) => !parked.has(k));
          if (usable.length === 0)
            return { ok: false, reason: 'paced', retryAfterMs: Math.min(...parked.values()) };
          const preferred = want?.prefer;
          if (preferred !== undefined && usable.includes(preferred) && !avoid?.has(preferred))
            return { ok: true, key: { id: preferred, value: `sk-${preferred}` }, probe: false };
          const id = usable.find((k) => !avoid?.has(k)) ?? usable[0] ?? 0;
          return { ok: true, key: { id, value: `sk-${id}` }, probe: false };
        },
        hasUsable: () => ids.some((k) => !parked.has(k)),
      };
      return pool;
    }

    it('a key the pacer refuses is skipped (parked) and the next one is sent; all refused → paced', () => {
      const rt = runtimeOf([{ name: 'g', upstreams: upstream, modelRedirects: { alias: 'real-model' } }]);
      const g = rt.groups.get('g')!;
      const pool = pacedPool([1, 2, 3]);
      const asked: Array<[number, string | null]> = [];
      const pacing: PacingView = {
        admit(_group, keyId, model) {
          asked.push([keyId, model]);
          if (keyId === 3) return { ok: true };
          pool.parked.set(keyId, keyId * 1000);
          return { ok: false, retryAfterMs: keyId * 1000 };
        },
      };
      const p = new AttemptPlanner(tiersOf(g, 'alias'), pool, healthy, 'retry', undefined, { pacing });
      expect(sent(p.next())).toEqual({ group: 'g', key: 3 });
      // Pacing and picking key on the model sent upstream (after the group's redirect).
      expect(asked).toEqual([
        [1, 'real-model'],
        [2, 'real-model'],
        [3, 'real-model'],
      ]);
      expect(pool.wants[0]).toEqual({ model: 'real-model' });

      pool.parked.set(3, 500);
      const q = new AttemptPlanner(tiersOf(g, 'alias'), pool, healthy, 'retry', undefined, { pacing });
      expect(now(q.next()).kind).toBe('stop');
      expect(q.exhaustion()).toEqual({ kind: 'paced', retryAfterMs: 500 });
    });

    it('a pacer that must claim a slice first makes the step asynchronous, with the same outcome', async () => {
      const rt = runtimeOf([{ name: 'g', upstreams: upstream }]);
      const g = rt.groups.get('g')!;
      const pool = pacedPool([1, 2]);
      const pacing: PacingView = {
        admit: (_group, keyId) => {
          if (keyId === 2) return Promise.resolve({ ok: true as const });
          pool.parked.set(1, 2000);
          return Promise.resolve({ ok: false as const, retryAfterMs: 2000 });
        },
      };
      const p = new AttemptPlanner(tiersOf(g, 'm'), pool, healthy, 'retry', undefined, { pacing });
      const step = p.next();
      expect(step).toBeInstanceOf(Promise);
      const resolved = await step;
      expect(resolved.kind === 'send' && resolved.key.id).toBe(2);
      expect(p.sent).toBe(1);
    });

    it('the first attempt of a session prefers the key that served it; retries do not', () => {
      const rt = runtimeOf([
        {
          name: 'g',
          upstreams: upstream,
          affinity: { mode: 'session', header: 'x-session-id', ttlSeconds: 60 },
        },
        { name: 'plain', upstreams: upstream },
      ]);
      const g = rt.groups.get('g')!;
      const pool = pacedPool([1, 2, 3]);
      const affinity = { preferred: (_g: unknown, session: string) => (session === 's1' ? 3 : undefined) };
      const p = new AttemptPlanner(tiersOf(g, 'm'), pool, healthy, 'retry', undefined, {
        affinity,
        sessionOf: () => 's1',
      });
      expect(sent(p.next())).toEqual({ group: 'g', key: 3 });
      expect(sent(p.next(retryable))).toEqual({ group: 'g', key: 1 });
      expect(pool.wants).toEqual([{ model: 'm', prefer: 3 }, { model: 'm' }]);

      // A group with affinity off never asks for the session.
      const plain = rt.groups.get('plain')!;
      let asked = 0;
      const q = new AttemptPlanner(tiersOf(plain, 'm'), pacedPool([1]), healthy, 'retry', undefined, {
        affinity,
        sessionOf: () => {
          asked++;
          return 's1';
        },
      });
      expect(sent(q.next())).toEqual({ group: 'plain', key: 1 });
      expect(asked).toBe(0);
    });
  });
});

describe('AttemptPlanner tiers and aliases', () => {
  /** A runtime whose aggregate members carry `priority` and whose groups carry `modelAliases`. */
  function routed(
    groups: GroupSpec[],
    priorities: Record<string, number>,
    aliases: Record<string, Record<string, string[]>> = {},
  ) {
    const { snapshot } = buildSnapshot({ groups });
    const nameOf = new Map(snapshot.groups.map((g) => [g.id, g.name]));
    for (const g of snapshot.groups) {
      g.subGroups = g.subGroups.map((s) => ({ ...s, priority: priorities[nameOf.get(s.groupId)!] ?? 1 }));
      if (aliases[g.name]) g.modelAliases = aliases[g.name];
    }
    return compileRuntime(snapshot);
  }

  /** A pool whose keys are cooling for the models (or whole groups) listed; picks skip avoided keys first. */
  function modelPool(keys: Record<number, number[]>, cooling: Set<string>): PoolView & { wants: string[] } {
    const wants: string[] = [];
    return {
      wants,
      pick(groupId, avoid, _now, want?: PickWant): PickResult {
        wants.push(`${groupId}:${want?.model ?? ''}`);
        if (cooling.has(`${groupId}`) || cooling.has(`${groupId}:${want?.model ?? ''}`))
          return { ok: false, reason: 'cooling', retryAfterMs: 2000 };
        const ids = keys[groupId] ?? [];
        if (ids.length === 0) return { ok: false, reason: 'empty' };
        const id = ids.find((k) => !avoid?.has(k)) ?? ids.at(0) ?? 0;
        return { ok: true, key: { id, value: `sk-${id}` }, probe: false };
      },
      hasUsable: (groupId) => (keys[groupId]?.length ?? 0) > 0 && !cooling.has(`${groupId}`),
    };
  }

  const tiered: GroupSpec[] = [
    { name: 'free1', upstreams: upstream },
    { name: 'free2', upstreams: upstream },
    { name: 'paid', upstreams: upstream },
    {
      name: 'agg',
      type: 'aggregate',
      subGroups: [
        { group: 'paid', weight: 10 },
        { group: 'free1', weight: 1 },
        { group: 'free2', weight: 1 },
      ],
    },
  ];
  const freeFirst = { free1: 1, free2: 1, paid: 2 };

  it('sends every request to the best tier, spread by weight inside it, while it has a usable key', () => {
    const rt = routed(tiered, freeFirst);
    const [f1, f2, paid] = ['free1', 'free2', 'paid'].map((n) => rt.groups.get(n)!);
    const pool = modelPool({ [f1!.id]: [1], [f2!.id]: [2], [paid!.id]: [9] }, new Set());
    const served = Array.from({ length: 10 }, () => {
      const p = new AttemptPlanner(tiersOf(rt.groups.get('agg')!, 'm'), pool, healthy, 'failover');
      return sent(p.next()).group;
    });
    expect(served.filter((g) => g === 'free1')).toHaveLength(5);
    expect(served.filter((g) => g === 'free2')).toHaveLength(5);
  });

  it('spills over to the next tier only when the better one is exhausted or fails, and returns once usable', () => {
    const rt = routed(tiered, freeFirst);
    const agg = rt.groups.get('agg')!;
    const [f1, f2, paid] = ['free1', 'free2', 'paid'].map((n) => rt.groups.get(n)!);
    const cooling = new Set([`${f1!.id}`, `${f2!.id}`]);
    const pool = modelPool({ [f1!.id]: [1], [f2!.id]: [2], [paid!.id]: [9] }, cooling);
    expect(sent(new AttemptPlanner(tiersOf(agg, 'm'), pool, healthy, 'failover').next()).group).toBe('paid');

    // Tier 1 usable again: the next request goes back to it; its keys failing hand the same request to tier 2.
    cooling.clear();
    const p = new AttemptPlanner(tiersOf(agg, 'm'), pool, healthy, 'failover');
    const first = sent(p.next()).group;
    const second = sent(p.next(retryable)).group;
    expect([first, second].sort()).toEqual(['free1', 'free2']);
    expect(sent(p.next(retryable))).toEqual({ group: 'paid', key: 9 });

    // A storm in tier 1 also hands over to tier 2.
    const storm = { guardOpen: (id: number) => (id === paid!.id ? null : 5000), isPenalized: () => false };
    const q = new AttemptPlanner(tiersOf(agg, 'm'), pool, storm, 'failover');
    expect(sent(q.next()).group).toBe('paid');
  });

  it('tries an alias as each model in order: the next one when the first is exhausted or fails', () => {
    const rt = routed(
      [{ name: 'g', upstreams: upstream, modelRedirects: { 'gpt-4o': 'gpt-4o-2024' } }],
      {},
      {
        g: { smart: ['gpt-4.1', 'gpt-4o'] },
      },
    );
    const g = rt.groups.get('g')!;
    const cooling = new Set([`${g.id}:gpt-4.1`]);
    const pool = modelPool({ [g.id]: [1] }, cooling);
    const p = new AttemptPlanner(tiersOf(g, 'smart'), pool, healthy, 'retry');
    const step = now(p.next());
    expect(step.kind === 'send' && [step.candidate.model, step.candidate.sentModel]).toEqual([
      'gpt-4o',
      'gpt-4o-2024',
    ]);
    expect(pool.wants).toEqual([`${g.id}:gpt-4.1`, `${g.id}:gpt-4o-2024`]);

    // The first model usable: it serves; its only key failing moves the request to the next model, same key.
    cooling.clear();
    const q = new AttemptPlanner(tiersOf(g, 'smart'), pool, healthy, 'retry');
    const a = now(q.next());
    const b = now(q.next(retryable));
    expect(a.kind === 'send' && [a.candidate.model, a.key.id]).toEqual(['gpt-4.1', 1]);
    expect(b.kind === 'send' && [b.candidate.model, b.key.id]).toEqual(['gpt-4o', 1]);
    // A request naming a listed model directly is not expanded.
    const direct = now(new AttemptPlanner(tiersOf(g, 'gpt-4.1'), pool, healthy, 'retry').next());
    expect(direct.kind === 'send' && direct.candidate.model).toBe('gpt-4.1');
  });

  it("expands an aggregate's alias before its members: every tier for the first model, then the next", () => {
    const rt = routed(tiered, freeFirst, { agg: { smart: ['m1', 'm2'] } });
    const agg = rt.groups.get('agg')!;
    const [f1, f2, paid] = ['free1', 'free2', 'paid'].map((n) => rt.groups.get(n)!);
    const cooling = new Set([`${f1!.id}:m1`, `${f2!.id}:m1`, `${paid!.id}:m1`]);
    const pool = modelPool({ [f1!.id]: [1], [f2!.id]: [2], [paid!.id]: [9] }, cooling);
    const step = now(new AttemptPlanner(tiersOf(agg, 'smart'), pool, healthy, 'failover').next());
    expect(step.kind === 'send' && step.candidate.model).toBe('m2');
    expect(step.kind === 'send' && step.candidate.group.name).toMatch(/^free/);
  });
});
