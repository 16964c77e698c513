import type { PickResult } from '@keyway/keypool';
import { describe, expect, it } from 'vitest';
import { buildSnapshot } from '../test/harness';
import type { GroupSpec } from '../test/harness';
import type { HealthView, PoolView, Step } from './attempt-planner';
import { AttemptPlanner, singleTier, tiersOf } from './attempt-planner';
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

function sent(step: Step): { group: string; key: number } {
  if (step.kind !== 'send') throw new Error('expected a send step');
  return { group: step.candidate.group.name, key: step.key.id };
}

describe('AttemptPlanner', () => {
  it('a standard group tries its keys in turn up to maxRetries + 1 attempts, then stops', () => {
    const rt = runtimeOf([{ name: 'g', upstreams: upstream, config: { maxRetries: 2 } }]);
    const g = rt.groups.get('g')!;
    const p = new AttemptPlanner(tiersOf(g, 'm'), fakePool({ [g.id]: [1, 2] }), healthy, false);
    expect(sent(p.next())).toEqual({ group: 'g', key: 1 });
    expect(sent(p.next(retryable))).toEqual({ group: 'g', key: 2 });
    // Every key tried: a standard group retries a tried one (GPT-Load's behaviour).
    expect(sent(p.next(retryable))).toEqual({ group: 'g', key: 1 });
    expect(p.next(retryable).kind).toBe('stop');
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
      const p = new AttemptPlanner(tiersOf(g, null), fakePool({ [g.id]: [1, 2] }), healthy, false);
      p.next();
      expect(p.next(previous).kind).toBe('stop');
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
      true,
    );
    const first = sent(p.next());
    const rest = [sent(p.next(retryable)), sent(p.next(retryable))];
    // Each key once: the member with one key is left after it, never retried with the same key.
    expect([first, ...rest].map((s) => s.key).sort()).toEqual([1, 2, 3]);
    expect(p.next(retryable).kind).toBe('stop');

    const q = new AttemptPlanner(
      tiersOf(agg, null),
      fakePool({ [a.id]: [1, 4], [b.id]: [2, 3] }),
      healthy,
      true,
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
      false,
    );
    expect(cooling.next().kind).toBe('stop');
    expect(cooling.exhaustion()).toEqual({ kind: 'cooling', retryAfterMs: 7000 });

    const storm = new AttemptPlanner(
      tiersOf(g, null),
      fakePool({ [g.id]: [1] }),
      {
        guardOpen: () => 4000,
        isPenalized: () => false,
      },
      false,
    );
    expect(storm.next().kind).toBe('stop');
    expect(storm.exhaustion()).toEqual({ kind: 'storm', retryAfterMs: 4000 });

    const empty = new AttemptPlanner(tiersOf(g, null), fakePool({}), healthy, false);
    expect(empty.next().kind).toBe('stop');
    expect(empty.exhaustion()).toEqual({ kind: 'empty' });

    const problems: string[] = [];
    const broken = { ...g, configProblem: { field: 'headerRules', reason: 'bad' } };
    const config = new AttemptPlanner(
      [singleTier({ group: broken, model: null })],
      fakePool({ [g.id]: [1] }),
      healthy,
      false,
      (name, p) => problems.push(`${name}:${p.field}`),
    );
    expect(config.next().kind).toBe('stop');
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
    const tiers = [singleTier({ group: free, model: 'm' }), singleTier({ group: paid, model: 'm' })];
    const p = new AttemptPlanner(tiers, fakePool({ [free.id]: [], [paid.id]: [9] }), healthy, true);
    expect(sent(p.next())).toEqual({ group: 'paid', key: 9 });
    const q = new AttemptPlanner(tiers, fakePool({ [free.id]: [1], [paid.id]: [9] }), healthy, true);
    expect(sent(q.next())).toEqual({ group: 'free', key: 1 });
    expect(sent(q.next(retryable))).toEqual({ group: 'paid', key: 9 });
  });

  it('prefers an upstream that is not penalised, and uses a penalised one when all are', () => {
    const rt = runtimeOf([{ name: 'g', upstreams: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] }]);
    const g = rt.groups.get('g')!;
    const one = { guardOpen: () => null, isPenalized: (u: { url: string }) => u.url.endsWith(':1') };
    const p = new AttemptPlanner(tiersOf(g, null), fakePool({ [g.id]: [1] }), one, false);
    for (let i = 0; i < 4; i++) {
      const step = i === 0 ? p.next() : p.next(retryable);
      if (step.kind === 'send') expect(step.upstream.url).toBe('http://127.0.0.1:2');
    }
    const all = { guardOpen: () => null, isPenalized: () => true };
    const q = new AttemptPlanner(tiersOf(g, null), fakePool({ [g.id]: [1] }), all, false);
    expect(q.next().kind).toBe('send');
  });
});
