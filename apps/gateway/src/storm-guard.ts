import type { FailureClass } from '@keyway/contracts';

/** How the guard decides; exported for tests. */
export const STORM = {
  windowMs: 10_000,
  /** Distinct keys that must fail the same way (or every key of a smaller group). */
  minKeys: 3,
  /** Share of the window's attempts that failed that way. */
  minRatio: 0.8,
  minAttempts: 4,
  openMs: 5_000,
  maxOpenMs: 60_000,
} as const;

interface Sample {
  at: number;
  keyId: number;
  cls: FailureClass;
}

interface GroupState {
  samples: Sample[];
  openUntil: number;
  trips: number;
  /** While half-open, one request is let through to test the water. */
  probing: boolean;
}

/** What the guard says about a group right now. */
export type GuardVerdict = { open: false } | { open: true; retryAfterMs: number; cls: FailureClass };

/**
 * Tells a storm (an IP-wide 429 wave, an upstream outage) from bad keys: when most recent attempts of a group
 * failed the same way across several keys, the group's circuit opens for a short, growing time and requests get
 * 503 + Retry-After instead of burning — and blacklisting — every key in turn. Failures seen while the storm is
 * building are not charged to the keys either.
 */
export class StormGuard {
  private readonly groups = new Map<number, GroupState>();
  private readonly lastClass = new Map<number, FailureClass>();

  /** Checked before a request's attempt loop. */
  check(groupId: number, now = Date.now()): GuardVerdict {
    const g = this.groups.get(groupId);
    if (!g || g.openUntil === 0) return { open: false };
    if (now < g.openUntil)
      return { open: true, retryAfterMs: g.openUntil - now, cls: this.lastClass.get(groupId) ?? 'upstream' };
    if (g.probing) return { open: true, retryAfterMs: 1000, cls: this.lastClass.get(groupId) ?? 'upstream' };
    g.probing = true;
    return { open: false };
  }

  /**
   * Records an attempt's class. Returns true when the failure belongs to a storm (the caller then leaves the key's
   * health alone).
   */
  record(
    groupId: number,
    keyId: number,
    cls: FailureClass,
    groupKeyCount: number,
    now = Date.now(),
  ): boolean {
    let g = this.groups.get(groupId);
    if (cls === 'ok') {
      if (g) {
        g.openUntil = 0;
        g.trips = 0;
        g.probing = false;
        g.samples.length = 0;
      }
      return false;
    }
    if (cls !== 'rate' && cls !== 'upstream') return false;
    if (!g) {
      g = { samples: [], openUntil: 0, trips: 0, probing: false };
      this.groups.set(groupId, g);
    }
    if (g.probing) {
      // The half-open probe failed the same way: the storm goes on.
      g.probing = false;
      this.trip(groupId, g, cls, now);
      return true;
    }
    g.samples.push({ at: now, keyId, cls });
    while (g.samples.length > 0 && (g.samples[0] as Sample).at < now - STORM.windowMs) g.samples.shift();
    if (g.samples.length > 500) g.samples.splice(0, g.samples.length - 500);
    const same = g.samples.filter((s) => s.cls === cls);
    const keys = new Set(same.map((s) => s.keyId)).size;
    const needKeys = Math.max(2, Math.min(STORM.minKeys, groupKeyCount));
    const storm =
      g.samples.length >= Math.min(STORM.minAttempts, needKeys + 1) &&
      keys >= needKeys &&
      same.length / g.samples.length >= STORM.minRatio;
    if (storm) this.trip(groupId, g, cls, now);
    return storm || g.openUntil > now;
  }

  /** Successes are recorded too (they close the circuit); cheap when the group never had trouble. */
  ok(groupId: number): void {
    if (this.groups.has(groupId)) this.record(groupId, 0, 'ok', 0);
  }

  private trip(groupId: number, g: GroupState, cls: FailureClass, now: number): void {
    g.trips++;
    g.openUntil = now + Math.min(STORM.maxOpenMs, STORM.openMs * 2 ** (g.trips - 1));
    g.samples.length = 0;
    this.lastClass.set(groupId, cls);
  }
}
