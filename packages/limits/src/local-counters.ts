import { SlidingWindow } from './sliding-window';
import type { Admission, Clock, CounterLayer, LimitRule, Refusal, RuleUsage } from './types';
import { systemClock } from './types';
import { periodBounds, recordedAmount, ruleKey } from './windows';

/** How often idle counters are looked for (a sweep walks every counter once). */
const SWEEP_EVERY_MS = 60_000;

type Tally =
  { kind: 'minute'; window: SlidingWindow } | { kind: 'period'; start: number; end: number; used: number };

export interface LocalCountersOptions {
  /** Time source (tests pass a fake one). Default: the system clock. */
  clock?: Clock;
}

/**
 * The standalone counter layer: exact, in memory. Minute windows keep the instants of their admissions (or
 * finished requests' tokens); day, month and total windows keep one figure per period. Counters whose windows
 * have emptied or whose period has passed are dropped once a minute, so memory follows the active keys.
 */
export class LocalCounters implements CounterLayer {
  private readonly clock: Clock;
  private readonly tallies = new Map<string, Map<string, Tally>>();
  private lastSweep: number;

  constructor(options: LocalCountersOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.lastSweep = this.clock.now();
  }

  /** Admits one request if no rule is at or over its limit; an admitted one counts in every `requests` rule. */
  admit(id: string, rules: readonly LimitRule[], now = this.clock.now()): Admission {
    this.maybeSweep(now);
    // The id's counters looked up once for all its rules (this runs for every request an upstream key admits).
    const byRule = this.counters(id);
    for (const rule of rules) {
      if (rule.limit === Infinity) continue;
      const tally = tallyIn(byRule, rule, now);
      const used = this.usedOf(tally, now);
      if (used >= rule.limit) return refusal(rule, used, this.freesAt(tally, rule, now), now);
    }
    for (const rule of rules) {
      if (rule.measure === 'requests') this.add(tallyIn(byRule, rule, now), rule, now, 1);
    }
    return ADMITTED;
  }

  /** Adds a finished request's tokens and cost to the `tokens` and `cost` rules of `id`. */
  record(id: string, rules: readonly LimitRule[], usage: { tokens: number; costUsd: number }): void {
    const now = this.clock.now();
    for (const rule of rules) {
      const amount = recordedAmount(rule, usage);
      if (amount > 0) this.add(this.tally(id, rule, now), rule, now, amount);
    }
  }

  /** How far `rule` of `id` is used at `now`. */
  usage(id: string, rule: LimitRule, now = this.clock.now()): RuleUsage {
    const tally = this.tallies.get(id)?.get(ruleKey(rule));
    if (!tally || !matches(tally, rule, now)) {
      const resetAtMs = rule.window === 'minute' ? now : periodBounds(rule.window, now, rule.timeZone).end;
      return { used: 0, limit: rule.limit, resetAtMs: finiteOrNull(resetAtMs) };
    }
    if (tally.kind === 'minute') {
      // `used` expires the window to `now`, so the next expiry is its oldest entry's.
      const used = tally.window.used(now);
      return { used, limit: rule.limit, resetAtMs: tally.window.oldestExpiry() ?? now };
    }
    return { used: tally.used, limit: rule.limit, resetAtMs: finiteOrNull(tally.end) };
  }

  /** The same figure as `usage` (standalone: this process is the whole deployment). */
  read(id: string, rule: LimitRule): Promise<RuleUsage> {
    return Promise.resolve(this.usage(id, rule));
  }

  /** Adds usage persisted in the database to the current day, month or total period (minute windows: ignored). */
  seed(id: string, rule: LimitRule, used: number): void {
    if (rule.window === 'minute' || !Number.isFinite(used) || used <= 0) return;
    const now = this.clock.now();
    this.add(this.tally(id, rule, now), rule, now, used);
  }

  close(): Promise<void> {
    this.tallies.clear();
    return Promise.resolve();
  }

  /** Counters held in memory (rules × ids with usage in a live window). */
  get size(): number {
    let n = 0;
    for (const byRule of this.tallies.values()) n += byRule.size;
    return n;
  }

  private counters(id: string): Map<string, Tally> {
    let byRule = this.tallies.get(id);
    if (!byRule) {
      byRule = new Map();
      this.tallies.set(id, byRule);
    }
    return byRule;
  }

  private tally(id: string, rule: LimitRule, now: number): Tally {
    return tallyIn(this.counters(id), rule, now);
  }

  private usedOf(tally: Tally, now: number): number {
    return tally.kind === 'minute' ? tally.window.used(now) : tally.used;
  }

  private freesAt(tally: Tally, rule: LimitRule, now: number): number {
    return tally.kind === 'minute' ? tally.window.freesAt(now, rule.limit) : tally.end;
  }

  private add(tally: Tally, rule: LimitRule, now: number, amount: number): void {
    if (tally.kind === 'minute') tally.window.add(now, amount, rule.limit !== Infinity);
    else tally.used += amount;
  }

  private maybeSweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [id, byRule] of this.tallies) {
      for (const [key, tally] of byRule) {
        const idle = tally.kind === 'minute' ? tally.window.isEmpty(now) : now >= tally.end;
        if (idle) byRule.delete(key);
      }
      if (byRule.size === 0) this.tallies.delete(id);
    }
  }
}

/** An admission that passed: one shared value (nothing to tell apart, and none made per request). */
const ADMITTED: Admission = Object.freeze({ ok: true });

/** The tally of `rule` among one id's counters, a fresh one when it is missing or its period has passed. */
function tallyIn(byRule: Map<string, Tally>, rule: LimitRule, now: number): Tally {
  const key = ruleKey(rule);
  const existing = byRule.get(key);
  if (existing && matches(existing, rule, now)) return existing;
  const fresh: Tally =
    rule.window === 'minute'
      ? { kind: 'minute', window: new SlidingWindow() }
      : { kind: 'period', ...periodBounds(rule.window, now, rule.timeZone), used: 0 };
  byRule.set(key, fresh);
  return fresh;
}

/** Whether a stored tally still belongs to `rule` at `now` (same window kind, current period). */
function matches(tally: Tally, rule: LimitRule, now: number): boolean {
  if (tally.kind === 'minute') return rule.window === 'minute';
  return rule.window !== 'minute' && now >= tally.start && now < tally.end;
}

/** A refusal of `rule` at `used`, free again at `freesAt` (Infinity: never, e.g. a total budget). */
export function refusal(rule: LimitRule, used: number, freesAt: number, now: number): Refusal {
  return {
    ok: false,
    rule,
    used,
    retryAfterMs: Number.isFinite(freesAt) ? Math.max(0, freesAt - now) : null,
  };
}

function finiteOrNull(t: number): number | null {
  return Number.isFinite(t) ? t : null;
}
