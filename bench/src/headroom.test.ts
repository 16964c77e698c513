import { describe, expect, it } from 'vitest';
import { HEADROOM_FACTOR, headroomVerdict } from './headroom';

describe('refusing ratios when the load generator or the upstream is the bottleneck', () => {
  it('reports ratios when the direct rate is at least twice the fastest gateway', () => {
    const v = headroomVerdict(31_000, { bare: 9_000, standalone: 8_200, distributed: 7_000 });
    expect(v.ok).toBe(true);
    expect(v.fastest).toEqual({ name: 'bare', rps: 9_000 });
    expect(v.needed).toBe(18_000);
  });

  it('accepts exactly twice the fastest gateway', () => {
    expect(headroomVerdict(2 * 4_000, { bare: 4_000 }).ok).toBe(true);
    expect(HEADROOM_FACTOR).toBe(2);
  });

  it('refuses, naming the cause, when direct is below twice the fastest gateway', () => {
    // a load generator that tops out at ~5.4k req/s straight to the upstream: gateways near 3k look alike
    const v = headroomVerdict(5_400, { bare: 3_000, standalone: 2_950, distributed: 2_900 }, 2);
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/load generator or the bench upstream is the bottleneck/);
    expect(v.reason).toMatch(/bare/);
    expect(v.reason).toMatch(/6,000 req\/s/);
  });

  it('compares against the fastest gateway, not the baseline', () => {
    const v = headroomVerdict(20_000, { bare: 9_000, standalone: 10_500 });
    expect(v.ok).toBe(false);
    expect(v.fastest).toEqual({ name: 'standalone', rps: 10_500 });
  });

  it('refuses when the direct run or every gateway run produced no rate', () => {
    expect(headroomVerdict(Number.NaN, { bare: 3_000 }).ok).toBe(false);
    expect(headroomVerdict(0, { bare: 3_000 }).ok).toBe(false);
    expect(headroomVerdict(30_000, {}).ok).toBe(false);
    expect(headroomVerdict(30_000, { bare: Number.NaN }).ok).toBe(false);
  });
});
