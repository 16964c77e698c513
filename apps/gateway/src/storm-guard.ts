import type { FailureClass } from '@keyway/contracts';
import type { StormClass } from '@keyway/core';

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
  /** A half-open probe that never reports back (client gone, no key…) frees the slot after this long. */
  probeTimeoutMs: 10_000,
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
  /** While half-open, one request at a time is let through to test the water; 0 when none is out. */
  probingSince: number;
  cls: FailureClass;
}

/** What the guard says about a group right now. */
export type GuardVerdict = { open: false } | { open: true; retryAfterMs: number; cls: FailureClass };

/** What recording an attempt tells the caller. */
export interface StormRecord {
  /** The failure belongs to a storm: leave the key's health alone. */
  storm: boolean;
  /** Keys charged for this storm before it was recognised: take those charges back. */
  absolve: readonly number[];
  /** The storm's class: what the keys in `absolve` were charged with. */
  cls: StormClass;
}

/** The verdict on an attempt that is no part of a storm (nothing to absolve; `cls` unused). */
export const NO_STORM: StormRecord = { storm: false, absolve: [], cls: 'upstream' };

/**
 * Tells a storm (an IP-wide 429 wave, an upstream outage) from bad keys: when most recent attempts of a group
 * failed the same way across several keys, the group's circuit opens for a short, growing time and requests get
 * 503 + Retry-After instead of burning — and blacklisting — every key in turn. Keys charged while the storm was
 * building are handed back for restoring when it is recognised.
 */
export class StormGuard {
  private readonly groups = new Map<number, GroupState>();

  /** `onOpen` hears of every time a group's circuit opens (the `group.storm` alert); it must not block. */
  constructor(private readonly onOpen?: (groupId: number, cls: FailureClass, openMs: number) => void) {}

  /** Checked before each attempt on a group. */
  check(groupId: number, now = Date.now()): GuardVerdict {
    const g = this.groups.get(groupId);
    if (!g || g.openUntil === 0) return { open: false };
    if (now < g.openUntil) return { open: true, retryAfterMs: g.openUntil - now, cls: g.cls };
    if (g.probingSince !== 0 && now - g.probingSince < STORM.probeTimeoutMs)
      return { open: true, retryAfterMs: 1000, cls: g.cls };
    g.probingSince = now;
    return { open: false };
  }

  /** Records an attempt's outcome class. */
  record(
    groupId: number,
    keyId: number,
    cls: FailureClass,
    groupKeyCount: number,
    now = Date.now(),
  ): StormRecord {
    const g = this.groups.get(groupId);
    if (cls !== 'rate' && cls !== 'upstream') {
      // Anything but a storm-class failure ends a storm: the upstream answered for itself (or the client left).
      if (g && (g.openUntil !== 0 || g.samples.length > 0) && cls !== 'aborted') this.groups.delete(groupId);
      else if (g) g.probingSince = 0;
      return NO_STORM;
    }
    const state = g ?? { samples: [], openUntil: 0, trips: 0, probingSince: 0, cls };
    if (!g) this.groups.set(groupId, state);
    if (state.probingSince !== 0) {
      // The half-open probe failed the same way: the storm goes on.
      state.probingSince = 0;
      this.trip(groupId, state, cls, now);
      return { storm: true, absolve: [], cls };
    }
    if (state.openUntil > now) return { storm: true, absolve: [], cls };
    state.samples.push({ at: now, keyId, cls });
    while (state.samples.length > 0 && (state.samples[0] as Sample).at < now - STORM.windowMs)
      state.samples.shift();
    if (state.samples.length > 500) state.samples.splice(0, state.samples.length - 500);
    const same = state.samples.filter((s) => s.cls === cls);
    const keys = new Set(same.map((s) => s.keyId));
    const needKeys = Math.max(2, Math.min(STORM.minKeys, groupKeyCount));
    const storm =
      state.samples.length >= Math.min(STORM.minAttempts, needKeys + 1) &&
      keys.size >= needKeys &&
      same.length / state.samples.length >= STORM.minRatio;
    if (!storm) return NO_STORM;
    this.trip(groupId, state, cls, now);
    return { storm: true, absolve: [...keys], cls };
  }

  /** A success closes the circuit; cheap when the group never had trouble. */
  ok(groupId: number): void {
    if (this.groups.size > 0) this.groups.delete(groupId);
  }

  private trip(groupId: number, g: GroupState, cls: FailureClass, now: number): void {
    g.trips++;
    const openMs = Math.min(STORM.maxOpenMs, STORM.openMs * 2 ** (g.trips - 1));
    g.openUntil = now + openMs;
    g.samples.length = 0;
    g.cls = cls;
    this.onOpen?.(groupId, cls, openMs);
  }
}
