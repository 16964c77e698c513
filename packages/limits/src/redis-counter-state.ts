import type { LimitRule } from './types';
import { MINUTE_MS, periodBounds } from './windows';

/** A replica's local allowance of a `requests` rule, claimed from Redis. */
export interface Slice {
  /** Admissions the slice allowed when claimed. */
  size: number;
  /** Admissions this replica may still make from the slice. */
  left: number;
  /** After this (epoch ms) the rest goes back to Redis and a new slice is claimed. */
  expiresAt: number;
  /** The rule's limit when claimed: a changed limit claims anew. */
  limit: number;
  /** The counter the slice was taken from (a period's key, or the minute hash). */
  key: string;
  /** Minute windows: the bucket (epoch s) the slice was counted in; '' for periods. */
  field: string;
}

/** The first slice's cap; it grows fourfold while slices run out early (a busy key needs few claims). */
export const INITIAL_DEMAND = 16;
const MAX_DEMAND = 1_000_000_000;

/** The bucket (epoch s) in which an amount added at `t` leaves a minute window (rounded up: never early). */
export function minuteBucket(t: number, extraMs = 0): number {
  return Math.ceil((t + MINUTE_MS + extraMs) / 1000);
}

/**
 * What one replica knows of one counter (an id under one rule): the global figure from the last pull or claim,
 * its own deltas not pushed yet, its slice, and a cached refusal. Figures = known global + local pending.
 */
export class CounterState {
  readonly minute: boolean;
  /** Minute windows: global buckets (epoch s → amount) as last pulled. */
  known = new Map<number, number>();
  /** Periods: the global figure of `knownKey` as last pulled or claimed. */
  knownFigure = 0;
  knownKey = '';
  /** Whether a pull or claim has answered since this state was made (a limit is not checked on nothing). */
  loaded = false;
  /** Local deltas not yet in Redis: minute, bucket second → delta; period, counter key → delta. */
  pending = new Map<string, number>();
  slice: Slice | undefined;
  /** A refusal from Redis, trusted locally until `refusedUntil` (no round trip per refused request). */
  refusal: { used: number; freesAt: number } | undefined;
  refusedUntil = 0;
  /** The claim or pull in flight, which concurrent admissions share. */
  inflight: Promise<void> | undefined;
  /** Admissions waiting on `inflight` (the next claim asks for at least this many). */
  waiting = 0;
  /** What this replica expects to admit within one slice's time: the cap of its next claim. */
  demand = INITIAL_DEMAND;
  lastUsed: number;
  private period = { start: 0, end: 0, key: '' };

  constructor(
    readonly id: string,
    public rule: LimitRule,
    private readonly periodKey: (start: number) => string,
    now: number,
  ) {
    this.minute = rule.window === 'minute';
    this.lastUsed = now;
  }

  /** The current period of a day/month/total rule: bounds and counter key (cached until the period ends). */
  current(now: number): { start: number; end: number; key: string } {
    if (this.minute) return { start: now - MINUTE_MS, end: now, key: '' };
    if (now < this.period.start || now >= this.period.end) {
      const w = this.rule.window === 'minute' ? 'day' : this.rule.window;
      const b = periodBounds(w, now, this.rule.timeZone);
      this.period = { ...b, key: this.periodKey(b.start) };
    }
    return this.period;
  }

  /** Whether the slice still allows an admission at `now`. */
  hasAllowance(now: number): boolean {
    const s = this.slice;
    return s !== undefined && s.left >= 1 && now < s.expiresAt && s.limit === this.rule.limit;
  }

  /** Adds a local amount (an observed admission, tokens, cost) to be pushed by the next sync. */
  addPending(now: number, amount: number): void {
    const field = this.minute ? String(minuteBucket(now)) : this.current(now).key;
    this.pending.set(field, (this.pending.get(field) ?? 0) + amount);
  }

  /**
   * Sizes the next claim from how the current slice went: used up before it expired → four times more; expired
   * with a rest → twice what it used (at least the initial demand).
   */
  nextDemand(now: number): number {
    const s = this.slice;
    if (s) {
      const used = s.size - s.left;
      this.demand =
        s.left < 1 && now < s.expiresAt
          ? Math.min(MAX_DEMAND, Math.max(this.demand, s.size) * 4)
          : Math.max(INITIAL_DEMAND, used * 2);
    }
    return this.demand;
  }

  /** Hands the unused rest of the slice back through the next sync (and drops the slice). */
  releaseSlice(): void {
    const s = this.slice;
    this.slice = undefined;
    if (!s) return;
    this.demand = Math.max(INITIAL_DEMAND, (s.size - s.left) * 2);
    if (s.left <= 0) return;
    const field = this.minute ? s.field : s.key;
    this.pending.set(field, (this.pending.get(field) ?? 0) - s.left);
  }

  /** Puts deltas whose push failed back in front of the newer ones (expired minute buckets dropped). */
  restorePending(deltas: Map<string, number>, now: number): void {
    for (const [field, d] of deltas) {
      if (this.minute && Number(field) * 1000 <= now) continue;
      this.pending.set(field, (this.pending.get(field) ?? 0) + d);
    }
  }

  /** The figure as known here: last global figure plus local pending deltas. */
  figure(now: number): number {
    if (this.minute) {
      let sum = 0;
      for (const [f, v] of this.known) if (f * 1000 > now) sum += v;
      for (const [f, v] of this.pending) if (Number(f) * 1000 > now) sum += v;
      return Math.max(0, sum);
    }
    const key = this.current(now).key;
    const base = this.knownKey === key ? this.knownFigure : 0;
    return Math.max(0, base + (this.pending.get(key) ?? 0));
  }

  /** When the figure falls below `limit` again (epoch ms; Infinity = never, a total). */
  freesAt(now: number, limit: number): number {
    if (!this.minute) return this.current(now).end;
    const buckets = new Map<number, number>();
    for (const [f, v] of this.known) if (f * 1000 > now) buckets.set(f, v);
    for (const [f, v] of this.pending) {
      const s = Number(f);
      if (s * 1000 > now) buckets.set(s, (buckets.get(s) ?? 0) + v);
    }
    let left = [...buckets.values()].reduce((a, b) => a + b, 0);
    for (const f of [...buckets.keys()].sort((a, b) => a - b)) {
      left -= buckets.get(f) ?? 0;
      if (left < limit) return f * 1000;
    }
    return now;
  }

  /** When the window next frees capacity (usage headers): the oldest live bucket, or a period's end. */
  resetAt(now: number): number | null {
    if (!this.minute) {
      const end = this.current(now).end;
      return Number.isFinite(end) ? end : null;
    }
    let first = Infinity;
    for (const f of this.known.keys()) if (f * 1000 > now && f < first) first = f;
    for (const k of this.pending.keys()) {
      const f = Number(k);
      if (f * 1000 > now && f < first) first = f;
    }
    return Number.isFinite(first) ? first * 1000 : now;
  }
}
