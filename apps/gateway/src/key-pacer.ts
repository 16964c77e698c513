import type { KeyPool } from '@keyway/keypool';
import type { Admission, Clock, CounterLayer, KeyPacingRules, LimitRule, Refusal } from '@keyway/limits';
import {
  keyPacingRules,
  MINUTE_MS,
  systemClock,
  upstreamKeyCounterId,
  upstreamKeyModelCounterId,
} from '@keyway/limits';
import type { RateLimitState } from '@keyway/providers';
import { readRateLimitHeaders } from '@keyway/providers';
import type { PaceVerdict } from './attempt-planner';
import type { KeyPacer } from './context';
import type { GroupRuntime } from './runtime';
import { GroupModelMemo } from './runtime';

/** How often expired learned allowances are looked for (a sweep walks every entry once). */
const SWEEP_EVERY_MS = 10_000;
/** Keys whose counter ids are kept (a pool of more starts over: ids are cheap to make again). */
const MAX_ID_KEYS = 100_000;
/** Learned allowances kept at most (keys × models); beyond it, new ones wait for a sweep to free room. */
const MAX_LEARNED = 100_000;
const OK: PaceVerdict = { ok: true };

/**
 * Upstream-key pacing (issue 14). A group's `keyLimits` are counted per upstream key on the counter layer —
 * `uk:{keyId}:m:{model}` for the model's own limits, `uk:{keyId}` across models (always observing `rpm`, `tpm`
 * and `rpd`, so the API can show the key's usage) — exact in standalone, in Redis-claimed slices across replicas
 * (no round trip per request). On top of that, the providers' rate-limit headers lower a key's allowance for a
 * model until their stated reset, even in groups without `keyLimits`. A refusal parks the key in the pool
 * (`pace`: that model for a model's limit, every model for `total`), so the next pick skips it. A group without
 * `keyLimits` whose keys stated nothing costs one Map lookup per admission.
 */
export function createKeyPacer(
  counters: CounterLayer,
  pool: Pick<KeyPool, 'pace'>,
  clock: Clock = systemClock,
): KeyPacer {
  return new Pacer(counters, pool, clock);
}

/**
 * The counter ids of each key (across models, and per model), made once: an id built per request is a new string
 * that every counter lookup hashes again (five lookups per paced request).
 */
class CounterIds {
  private readonly byKey = new Map<number, { total: string; models: Map<string, string> }>();

  private entry(keyId: number): { total: string; models: Map<string, string> } {
    let e = this.byKey.get(keyId);
    if (!e) {
      if (this.byKey.size >= MAX_ID_KEYS) this.byKey.clear();
      e = { total: upstreamKeyCounterId(keyId), models: new Map() };
      this.byKey.set(keyId, e);
    }
    return e;
  }

  total(keyId: number): string {
    return this.entry(keyId).total;
  }

  model(keyId: number, model: string): string {
    const { models } = this.entry(keyId);
    let id = models.get(model);
    if (id === undefined) {
      // A client names the model: a key serving thousands of names starts its list over.
      if (models.size >= 256) models.clear();
      id = upstreamKeyModelCounterId(keyId, model);
      models.set(model, id);
    }
    return id;
  }
}

/** What a provider's headers last said about one key and model, on this replica. */
interface Stated {
  /** Admissions left before `leftUntil` (the provider's remaining requests, less what was admitted since). */
  left: number;
  leftUntil: number;
  /** A stated allowance ran out (requests or tokens): nothing is sent before this. */
  blockedUntil: number;
}

/**
 * Allowances the providers stated, per key and model sent (`''` = none named), local to this replica: R requests
 * left means at most R more admissions here until the reset. Entries end at their reset and are swept.
 */
class StatedAllowances {
  private readonly byKey = new Map<number, Map<string, Stated>>();
  private count = 0;
  private lastSweep: number;

  constructor(now: number) {
    this.lastSweep = now;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  /** The key's live allowance for `model` (undefined: nothing stated, or its window is over). */
  find(keyId: number, model: string | null, now: number): Stated | undefined {
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    const e = this.byKey.get(keyId)?.get(model ?? '');
    return e && Math.max(e.leftUntil, e.blockedUntil) > now ? e : undefined;
  }

  /** Takes in what a response stated; returns until when the key is blocked for the model (≤ now: it is not). */
  learn(keyId: number, model: string | null, stated: RateLimitState, now: number): number {
    const { requests, tokens } = stated;
    let blockedUntil = requests && requests.remaining <= 0 ? requests.resetAt : 0;
    if (tokens && tokens.remaining <= 0) blockedUntil = Math.max(blockedUntil, tokens.resetAt);
    const counted = requests !== null && requests.remaining > 0 && requests.resetAt > now;
    const existing = this.byKey.get(keyId)?.get(model ?? '');
    if (existing) {
      // The latest response wins: it already counts what was sent before it.
      if (counted) [existing.left, existing.leftUntil] = [requests.remaining, requests.resetAt];
      existing.blockedUntil = blockedUntil;
    } else if ((counted || blockedUntil > now) && this.count < MAX_LEARNED) {
      let byModel = this.byKey.get(keyId);
      if (!byModel) {
        byModel = new Map<string, Stated>();
        this.byKey.set(keyId, byModel);
      }
      byModel.set(model ?? '', {
        left: counted ? requests.remaining : 0,
        leftUntil: counted ? requests.resetAt : 0,
        blockedUntil,
      });
      this.count++;
    }
    return blockedUntil;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [keyId, byModel] of this.byKey) {
      for (const [model, e] of byModel) {
        if (Math.max(e.leftUntil, e.blockedUntil) > now) continue;
        byModel.delete(model);
        this.count--;
      }
      if (byModel.size === 0) this.byKey.delete(keyId);
    }
  }
}

/** Until when a stated allowance holds the key back (≤ now: it does not). */
function heldUntil(e: Stated, now: number): number {
  const spent = e.left <= 0 && e.leftUntil > now ? e.leftUntil : 0;
  return e.blockedUntil > now ? Math.max(e.blockedUntil, spent) : spent;
}

class Pacer implements KeyPacer {
  private readonly stated: StatedAllowances;
  private readonly ids = new CounterIds();
  /** The group's rules for a model sent, compiled once per group object (a reload makes new groups). */
  private readonly plans = new GroupModelMemo((group, model) =>
    group.keyLimits === null ? null : keyPacingRules(group.keyLimits, model, group.dailyResetTimeZone),
  );

  constructor(
    private readonly counters: CounterLayer,
    private readonly pool: Pick<KeyPool, 'pace'>,
    private readonly clock: Clock,
  ) {
    this.stated = new StatedAllowances(clock.now());
  }

  admit(group: GroupRuntime, keyId: number, model: string | null): PaceVerdict | Promise<PaceVerdict> {
    let entry: Stated | undefined;
    if (!this.stated.empty) {
      const now = this.clock.now();
      entry = this.stated.find(keyId, model, now);
      const until = entry ? heldUntil(entry, now) : 0;
      if (until > now) return this.refuse(group, keyId, model, until - now);
    }
    const plan = this.planFor(group, model);
    if (plan === null) {
      if (entry) entry.left -= 1;
      return OK;
    }
    if (model === null || plan.model.length === 0) return this.admitTotal(group, keyId, plan, entry);
    // A full `total` refuses before the model's counter counts the request (refused requests do not count).
    const full = fullRule(this.counters, this.ids.total(keyId), plan.total, this.clock);
    if (full !== null) return this.refuse(group, keyId, null, full);
    const a = this.counters.admit(this.ids.model(keyId, model), plan.model);
    // No callback made unless the layer waits (standalone never does): this runs for every request.
    if (!(a instanceof Promise)) return this.afterModel(a, group, keyId, model, plan, entry);
    return a.then((r) => this.afterModel(r, group, keyId, model, plan, entry));
  }

  /** The model's admission `a` decided: on to the rules across models, or the refusal for that model. */
  private afterModel(
    a: Admission,
    group: GroupRuntime,
    keyId: number,
    model: string,
    plan: KeyPacingRules,
    entry: Stated | undefined,
  ): PaceVerdict | Promise<PaceVerdict> {
    return a.ok ? this.admitTotal(group, keyId, plan, entry) : this.refuse(group, keyId, model, waitOf(a));
  }

  observe(
    group: GroupRuntime,
    keyId: number,
    model: string | null,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    const now = this.clock.now();
    const stated = readRateLimitHeaders(group.provider.id, headers, now);
    if (stated === null) return;
    const blockedUntil = this.stated.learn(keyId, model, stated, now);
    if (blockedUntil > now) this.pool.pace(group.id, keyId, model, blockedUntil);
  }

  record(group: GroupRuntime, keyId: number, model: string | null, tokens: number): void {
    if (!(tokens > 0)) return;
    const plan = this.planFor(group, model);
    if (plan === null) return;
    const usage = { tokens, costUsd: 0 };
    if (model !== null && plan.model.length > 0)
      this.counters.record(this.ids.model(keyId, model), plan.model, usage);
    this.counters.record(this.ids.total(keyId), plan.total, usage);
  }

  /** The rules across models, then the admission's end: a stated allowance is spent only when admitted. */
  private admitTotal(
    group: GroupRuntime,
    keyId: number,
    plan: KeyPacingRules,
    entry: Stated | undefined,
  ): PaceVerdict | Promise<PaceVerdict> {
    const a = this.counters.admit(this.ids.total(keyId), plan.total);
    if (!(a instanceof Promise)) return this.settle(a, group, keyId, entry);
    return a.then((r) => this.settle(r, group, keyId, entry));
  }

  private settle(a: Admission, group: GroupRuntime, keyId: number, entry: Stated | undefined): PaceVerdict {
    if (!a.ok) return this.refuse(group, keyId, null, waitOf(a));
    if (entry) entry.left -= 1;
    return OK;
  }

  /** Parks the key (for `model`, or every model with null) for `waitMs` and answers the refusal. */
  private refuse(group: GroupRuntime, keyId: number, model: string | null, waitMs: number): PaceVerdict {
    const retryAfterMs = Math.max(1, Math.ceil(waitMs));
    this.pool.pace(group.id, keyId, model, this.clock.now() + retryAfterMs);
    return { ok: false, retryAfterMs };
  }

  /** The group's rules for `model` (null: the group sets no `keyLimits`). */
  private planFor(group: GroupRuntime, model: string | null): KeyPacingRules | null {
    return group.keyLimits === null ? null : this.plans.get(group, model, undefined);
  }
}

/** How long a refused admission waits (a window that never frees is not one pacing uses: a minute then). */
function waitOf(r: Refusal): number {
  return r.retryAfterMs ?? MINUTE_MS;
}

/**
 * How long until a limited rule of counter `id` that is at or over its limit frees up (null: none is), as this
 * process knows the figure — exact in standalone, a hint across replicas (the admission itself decides there).
 */
function fullRule(
  counters: CounterLayer,
  id: string,
  rules: readonly LimitRule[],
  clock: Clock,
): number | null {
  for (const rule of rules) {
    if (rule.limit === Infinity) continue;
    const u = counters.usage(id, rule);
    // The clock is read only when a rule is full (a refusal), not for every admission.
    if (u.used >= rule.limit)
      return u.resetAtMs === null ? MINUTE_MS : Math.max(1, u.resetAtMs - clock.now());
  }
  return null;
}
