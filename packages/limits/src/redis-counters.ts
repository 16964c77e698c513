import { randomUUID } from 'node:crypto';
import type { LogPort } from '@keyway/core';
import type { Redis } from 'ioredis';
import { refusal } from './local-counters';
import { CounterState, minuteBucket } from './redis-counter-state';
import { CounterStore } from './redis-counter-store';
import { counterKeyNames, DEFAULT_COUNTER_PREFIX } from './redis-keys';
import type { Admission, Clock, CounterLayer, LimitRule, RuleUsage } from './types';
import { systemClock } from './types';
import { recordedAmount, ruleKey } from './windows';

/** A counter untouched this long, with nothing to push, is dropped from memory (Redis keeps the figure). */
const IDLE_MS = 70_000;
/** Claims an admission may wait for before it is refused (each serves at least one waiting admission). */
const MAX_CLAIMS_PER_ADMISSION = 4;

export interface RedisCountersOptions {
  /** Client for commands; the counters never quit it (the caller owns it). */
  redis: Redis;
  /** Prefix of every counter key (default `kw:lim:`); tests use a random one. */
  prefix?: string;
  clock?: Clock;
  /** Where "Redis unreachable" (once per outage) and "reachable again" go. */
  log?: LogPort;
  /** Background push and pull period (default 200 ms); 0 = no timer (tests call `sync()`). */
  syncIntervalMs?: number;
  /** How long a claimed slice is used before its rest is handed back (default 1000 ms). */
  sliceMs?: number;
  /** A Redis call slower than this counts as Redis down (default 500 ms). */
  timeoutMs?: number;
  /**
   * Called when Redis lost its data (the epoch marker changed), or when this replica could not reach Redis
   * before it first read the marker (its seeds at start failed): seed the day/month/total counters again.
   */
  onReset?: () => void;
  /** Name of this replica among a counter's claimants (default: a random UUID). */
  replicaId?: string;
}

/** Round trips made, for metrics and tests. */
export interface RedisCounterStats {
  /** Slice claims and first loads made while an admission waited (the hot path's only round trips). */
  hotPathCalls: number;
  /** Background push-and-pull rounds that reached Redis. */
  syncs: number;
}

/**
 * The distributed counter layer. `requests` rules admit from a slice of the limit claimed atomically in Redis
 * (one round trip per slice, never per request); a slice is used for `sliceMs` and its rest handed back, and a
 * minute window counts the slice until `sliceMs` + 60 s after the claim, so no use is ever under-counted. Since a
 * claim never exceeds what remains, replicas together admit at most the limit. `tokens` and `cost` rules, and
 * unlimited (observed) rules, are pushed and pulled in the background; an admission checks the last global
 * figure plus local deltas not pushed yet (a limit may then overshoot by what finishes within one sync period).
 * When Redis is down every rule is checked on those figures and the deltas wait for Redis to come back.
 */
export class RedisCounters implements CounterLayer {
  readonly stats: RedisCounterStats = { hotPathCalls: 0, syncs: 0 };
  private readonly store: CounterStore;
  private readonly clock: Clock;
  private readonly log: LogPort | undefined;
  private readonly sliceMs: number;
  private readonly onReset: (() => void) | undefined;
  private readonly states = new Map<string, Map<string, CounterState>>();
  private readonly timer: NodeJS.Timeout | undefined;
  private degraded = false;
  private epoch: string | undefined;
  /** Redis failed before this replica ever read the epoch: it cannot tell whether Redis lost data meanwhile. */
  private failedBeforeEpoch = false;
  private syncing: Promise<void> | undefined;
  private closed = false;

  constructor(options: RedisCountersOptions) {
    this.store = new CounterStore(
      options.redis,
      counterKeyNames(options.prefix ?? DEFAULT_COUNTER_PREFIX),
      options.replicaId ?? randomUUID(),
      options.timeoutMs ?? 500,
    );
    this.clock = options.clock ?? systemClock;
    this.log = options.log;
    this.sliceMs = options.sliceMs ?? 1000;
    this.onReset = options.onReset;
    const every = options.syncIntervalMs ?? 200;
    if (every > 0) {
      this.timer = setInterval(() => void this.sync(), every);
      this.timer.unref();
    }
  }

  /** Whether Redis is unreachable and admissions run on local figures. */
  get isDegraded(): boolean {
    return this.degraded;
  }

  /** Admits one request: synchronous while every limited `requests` rule has allowance and every figure is known. */
  admit(id: string, rules: readonly LimitRule[], now = this.clock.now()): Admission | Promise<Admission> {
    const step = this.tryAdmit(id, rules, now);
    return Array.isArray(step) ? this.admitAfterClaims(id, rules, step) : step;
  }

  /** Adds a finished request's tokens and cost; pushed by the next sync. */
  record(id: string, rules: readonly LimitRule[], usage: { tokens: number; costUsd: number }): void {
    const now = this.clock.now();
    for (const rule of rules) {
      const amount = recordedAmount(rule, usage);
      if (amount > 0) this.state(id, rule, now).addPending(now, amount);
    }
  }

  /** The figure as this replica knows it (global as of the last sync or claim, plus its own unsynced usage). */
  usage(id: string, rule: LimitRule, now = this.clock.now()): RuleUsage {
    const c = this.states.get(id)?.get(ruleKey(rule));
    if (!c) {
      const probe = new CounterState(id, rule, () => '', now);
      return { used: 0, limit: rule.limit, resetAtMs: probe.resetAt(now) };
    }
    const unused = c.hasAllowance(now) ? (c.slice?.left ?? 0) : 0;
    return { used: Math.max(0, c.figure(now) - unused), limit: rule.limit, resetAtMs: c.resetAt(now) };
  }

  /** The global figure, read from Redis (rejects when Redis is unreachable). */
  async read(id: string, rule: LimitRule): Promise<RuleUsage> {
    const now = this.clock.now();
    const c = this.newState(id, rule, now);
    await this.store.pull(c, now, new Map());
    const outstanding = this.states.get(id)?.get(ruleKey(rule));
    // Own unused allowance is not usage (other replicas' rests are: they may still admit from them).
    const unused = outstanding?.hasAllowance(now) ? (outstanding.slice?.left ?? 0) : 0;
    return { used: Math.max(0, c.figure(now) - unused), limit: rule.limit, resetAtMs: c.resetAt(now) };
  }

  /**
   * Raises a day/month/total counter in Redis to the database's figure where Redis holds less (it lost the
   * counter). Taking the larger figure never counts twice; what Redis counted after a loss and the database had
   * not stored yet when seeded is missed (seconds of usage, the usage writer's flush delay).
   */
  async seed(id: string, rule: LimitRule, used: number): Promise<void> {
    if (rule.window === 'minute' || !Number.isFinite(used) || used <= 0) return;
    const now = this.clock.now();
    const c = this.state(id, rule, now);
    await this.store.seed(c, now, used);
    c.loaded = false; // the next admission checks the seeded figure
  }

  /** Pushes local deltas and pulls global figures for every live counter; hands back expired slices. */
  sync(): Promise<void> {
    if (this.syncing) return this.syncing;
    this.syncing = this.runSync().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  /** Hands back every slice and pushes what is pending (best effort), then stops the background sync. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const byRule of this.states.values()) for (const c of byRule.values()) c.releaseSlice();
    await this.sync();
    this.states.clear();
  }

  private state(id: string, rule: LimitRule, now: number): CounterState {
    let byRule = this.states.get(id);
    if (!byRule) {
      byRule = new Map();
      this.states.set(id, byRule);
    }
    const key = ruleKey(rule);
    const c = byRule.get(key);
    if (c && c.minute === (rule.window === 'minute') && c.rule.window === rule.window) {
      c.rule = rule;
      c.lastUsed = now;
      return c;
    }
    if (c) c.releaseSlice(); // the window changed: the old counter's deltas are lost with it
    const fresh = this.newState(id, rule, now);
    byRule.set(key, fresh);
    return fresh;
  }

  private newState(id: string, rule: LimitRule, now: number): CounterState {
    const key = ruleKey(rule);
    return new CounterState(id, rule, (start) => this.store.periodKey(id, key, start), now);
  }

  /** One pass over the rules without waiting: an admission, a refusal, or the counters that need Redis first. */
  private tryAdmit(id: string, rules: readonly LimitRule[], now: number): Admission | CounterState[] {
    let need: CounterState[] | undefined;
    for (const rule of rules) {
      if (rule.limit === Infinity) continue;
      const c = this.state(id, rule, now);
      if (rule.measure === 'requests' && !this.degraded) {
        if (c.refusal && now < c.refusedUntil) {
          return refusal(rule, c.refusal.used, c.refusal.freesAt, now);
        }
        if (!c.hasAllowance(now)) (need ??= []).push(c);
        continue;
      }
      if (!c.loaded && !this.degraded) {
        (need ??= []).push(c);
        continue;
      }
      const used = c.figure(now);
      if (used >= rule.limit) return refusal(rule, used, c.freesAt(now, rule.limit), now);
    }
    if (need) return need;
    for (const rule of rules) {
      if (rule.measure !== 'requests') continue;
      const c = this.state(id, rule, now);
      if (rule.limit !== Infinity && !this.degraded && c.slice) c.slice.left -= 1;
      else c.addPending(now, 1);
    }
    return { ok: true };
  }

  private async admitAfterClaims(
    id: string,
    rules: readonly LimitRule[],
    first: CounterState[],
  ): Promise<Admission> {
    let need = first;
    for (let attempt = 0; attempt < MAX_CLAIMS_PER_ADMISSION; attempt++) {
      await Promise.all(need.map((c) => this.refresh(c)));
      const step = this.tryAdmit(id, rules, this.clock.now());
      if (!Array.isArray(step)) return step;
      need = step;
    }
    // Others took every slice this admission waited for: the counter is contended right at its limit.
    const now = this.clock.now();
    const c = need[0] as CounterState;
    return refusal(c.rule, c.figure(now), now + this.sliceMs, now);
  }

  /** Claims a slice (limited `requests` rule) or loads the figure (other rules); shared by concurrent waiters. */
  private async refresh(c: CounterState): Promise<void> {
    c.waiting += 1;
    try {
      if (!c.inflight) {
        const now = this.clock.now();
        this.stats.hotPathCalls += 1;
        const work =
          c.rule.measure === 'requests'
            ? this.claim(c, now)
            : this.push(c, now).then((ok) => (ok ? this.recovered() : undefined));
        c.inflight = work.finally(() => {
          c.inflight = undefined;
        });
      }
      await c.inflight;
    } finally {
      c.waiting -= 1;
    }
  }

  private async claim(c: CounterState, now: number): Promise<void> {
    // Let the admissions of this same turn (a burst) join first, so one claim asks for all of them.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const demand = c.nextDemand(now);
    const release = c.slice;
    c.slice = undefined;
    const field = c.minute ? String(minuteBucket(now, this.sliceMs)) : '';
    try {
      const r = await this.store.claim(c, { now, want: Math.max(1, c.waiting), demand, release, field });
      this.recovered();
      if (r.granted) {
        const expiresAt = Math.min(now + this.sliceMs, r.end);
        c.slice = { size: r.slice, left: r.slice, expiresAt, limit: c.rule.limit, key: r.key, field };
        c.refusal = undefined;
      } else {
        c.refusal = { used: r.used, freesAt: r.freesAt };
        // Trusted for at most a slice's time (a raised limit or a handed-back rest shows within it), and at
        // least that long when nothing frees sooner (a zero limit must not cost a round trip per request).
        c.refusedUntil = r.freesAt > now ? Math.min(r.freesAt, now + this.sliceMs) : now + this.sliceMs;
      }
    } catch (error) {
      // Whether the release was applied is unknown: not handing the rest back again over-counts, never under.
      this.degrade(error);
    }
  }

  /** Pushes the counter's pending deltas and pulls its global figure; false (deltas kept) when Redis fails. */
  private async push(c: CounterState, now: number): Promise<boolean> {
    const deltas = c.pending;
    c.pending = new Map();
    try {
      await this.store.pull(c, now, deltas);
      return true;
    } catch (error) {
      c.restorePending(deltas, now);
      this.degrade(error);
      return false;
    }
  }

  private async runSync(): Promise<void> {
    const now = this.clock.now();
    const jobs: Promise<boolean>[] = [this.checkEpoch()];
    for (const [id, byRule] of this.states) {
      for (const [key, c] of byRule) {
        if (c.inflight) continue;
        if (c.slice && !c.hasAllowance(now)) c.releaseSlice();
        if (now - c.lastUsed > IDLE_MS && c.pending.size === 0 && !c.slice) {
          byRule.delete(key);
          continue;
        }
        // Pull only what an admission checks against the global figure (limited tokens and cost): requests are
        // checked by claims, and an unlimited rule's figure is only needed when it has something to push.
        const checked = c.rule.measure !== 'requests' && c.rule.limit !== Infinity;
        if (!checked && c.pending.size === 0) continue;
        jobs.push(this.push(c, now));
      }
      if (byRule.size === 0) this.states.delete(id);
    }
    const results = await Promise.all(jobs);
    if (results.every(Boolean)) {
      this.stats.syncs += 1;
      this.recovered();
    }
  }

  /** Reads (or sets) the epoch marker; a changed one means Redis lost its counters. */
  private async checkEpoch(): Promise<boolean> {
    try {
      const value = await this.store.epoch(randomUUID());
      const before = this.epoch;
      this.epoch = value;
      const lost = before === undefined ? this.failedBeforeEpoch : before !== value;
      this.failedBeforeEpoch = false;
      if (lost) {
        this.log?.warn({ counters: 'limits' }, 'counters: Redis lost its data; usage is seeded again');
        for (const byRule of this.states.values()) for (const c of byRule.values()) c.loaded = false;
        this.onReset?.();
      }
      return true;
    } catch (error) {
      this.degrade(error);
      return false;
    }
  }

  private degrade(error: unknown): void {
    if (this.epoch === undefined) this.failedBeforeEpoch = true;
    if (this.degraded) return;
    this.degraded = true;
    // Slices cannot be handed back now: their rests go back with the first sync that reaches Redis.
    for (const byRule of this.states.values()) {
      for (const c of byRule.values()) {
        c.releaseSlice();
        c.refusal = undefined;
      }
    }
    const reason = error instanceof Error ? error.message : String(error);
    this.log?.warn({ counters: 'limits', reason }, 'counters: Redis unreachable, admitting on local figures');
  }

  private recovered(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.log?.info({ counters: 'limits' }, 'counters: Redis reachable again, limits shared across replicas');
  }
}
