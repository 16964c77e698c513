import { describe, expect, it } from 'vitest';
import { median, medianBy, percentile, ratio, round, summarize } from './stats';

describe('summary math', () => {
  it('takes nearest-rank percentiles regardless of input order', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarizes samples', () => {
    const s = summarize(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(s).toEqual({ count: 100, min: 1, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
    expect(summarize([]).count).toBe(0);
  });

  it('guards ratios and rounding against missing figures', () => {
    expect(ratio(1, 4)).toBe(0.25);
    expect(ratio(1, 0)).toBeNaN();
    expect(round(1.23456, 2)).toBe(1.23);
    expect(round(Number.NaN)).toBeNull();
  });

  it('picks the item with the median key, the lower middle one for an even count', () => {
    const runs = [{ rps: 30 }, { rps: 10 }, { rps: 20 }];
    expect(medianBy(runs, (r) => r.rps)).toBe(runs[2]);
    expect(medianBy([...runs, { rps: 40 }], (r) => r.rps)).toBe(runs[2]);
    expect(medianBy([{ rps: 5 }], (r) => r.rps)).toEqual({ rps: 5 });
    expect(() => medianBy([], (r: { rps: number }) => r.rps)).toThrow();
  });

  it('takes the median of the finite values, the mean of the middle two for an even count', () => {
    expect(median([1.1, 0.9, 1.0])).toBe(1.0);
    expect(median([0.9, 1.2, 1.0, 0.8])).toBeCloseTo(0.95, 10);
    expect(median([Number.NaN, 1.05])).toBe(1.05);
    expect(median([])).toBeNaN();
  });
});
