import { describe, expect, it } from 'vitest';
import { SmoothWeightedRoundRobin } from './weighted';

interface Item {
  name: string;
  weight: number;
}

const items = (weights: Record<string, number>): Item[] =>
  Object.entries(weights).map(([name, weight]) => ({ name, weight }));

/** Names of the next `n` picks. */
function picks(rr: SmoothWeightedRoundRobin<Item>, n: number, skip?: (i: Item) => boolean): string[] {
  return Array.from({ length: n }, () => rr.next(skip)?.name ?? '-');
}

function counts(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

describe('SmoothWeightedRoundRobin', () => {
  it('interleaves weights 5:1:1 as nginx does: a a b a c a a', () => {
    const rr = new SmoothWeightedRoundRobin(items({ a: 5, b: 1, c: 1 }));
    expect(picks(rr, 7)).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  it('repeats the same sequence in every window of sum(weights) picks', () => {
    const rr = new SmoothWeightedRoundRobin(items({ a: 5, b: 1, c: 1 }));
    const first = picks(rr, 7);
    for (let w = 0; w < 20; w++) expect(picks(rr, 7)).toEqual(first);
  });

  it.each([
    [{ a: 5, b: 1, c: 1 }],
    [{ a: 1, b: 1 }],
    [{ a: 3, b: 2, c: 7, d: 1 }],
    [{ a: 100, b: 1 }],
    [{ a: 1 }],
  ])('picks each item exactly `weight` times per window: %j', (weights) => {
    const rr = new SmoothWeightedRoundRobin(items(weights));
    const total = Object.values(weights).reduce((s, w) => s + w, 0);
    expect(rr.totalWeight).toBe(total);
    for (let w = 0; w < 3; w++) expect(counts(picks(rr, total))).toEqual(weights);
  });

  it('never picks an item of weight 0 (or less)', () => {
    const rr = new SmoothWeightedRoundRobin(items({ a: 2, zero: 0, b: 1, negative: -3 }));
    const seen = picks(rr, 300);
    expect(seen).not.toContain('zero');
    expect(seen).not.toContain('negative');
    expect(counts(seen)).toEqual({ a: 200, b: 100 });
    expect(rr.totalWeight).toBe(3);
    expect(rr.size).toBe(4);
  });

  it('skips rejected items and keeps the proportions among the rest', () => {
    const rr = new SmoothWeightedRoundRobin(items({ a: 5, b: 2, c: 1 }));
    const notA = (i: Item) => i.name === 'a';
    expect(counts(picks(rr, 30, notA))).toEqual({ b: 20, c: 10 });
  });

  it('returns undefined when every item is skipped, zero-weighted, or there are none', () => {
    expect(new SmoothWeightedRoundRobin(items({ a: 1, b: 1 })).next(() => true)).toBeUndefined();
    expect(new SmoothWeightedRoundRobin(items({ a: 0 })).next()).toBeUndefined();
    expect(new SmoothWeightedRoundRobin<Item>([]).next()).toBeUndefined();
  });

  it('returns to the full rotation once nothing is skipped any more', () => {
    const rr = new SmoothWeightedRoundRobin(items({ a: 1, b: 1 }));
    picks(rr, 5, (i) => i.name === 'b');
    expect(counts(picks(rr, 20))).toEqual({ a: 10, b: 10 });
  });
});
