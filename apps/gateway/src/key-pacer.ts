import type { KeyPool } from '@keyway/keypool';
import type { Admission, Clock, CounterLayer, KeyPacingRules, LimitRule, Refusal } from '@keyway/limits';
import {
  keyPacingRules,
  MINUTE_MS,
  systemClock,
  upstreamKeyCounterId,
  upstreamKeyModelCounterId,
} from '@keyway/limits';
import { readRateLimitHeaders } from '@keyway/providers';
import type { PaceVerdict } from './attempt-planner';
import type { KeyPacer } from './context';
import type { GroupRuntime } from './runtime';

/** What a provider's headers last said about one key and model, on this replica. */
interface Learned {
  /** Admissions left before `leftUntil` (the provider's remaining requests, less what was admitted since). */
  left: number;
  leftUntil: number;
  /** A stated allowance ran out (requests or tokens): nothing is sent before this. */
  blockedUntil: number;
}

/** How often expired learned allowances are looked for (a sweep walks every entry once). */
const SWEEP_EVERY_MS = 10_000;
/** Learned allowances kept at most (keys × models); beyond it, new ones are not learned until a sweep frees room. */
const MAX_LEARNED = 100_000;
/** Compiled rules kept per group (one per model sent); clients name models freely, so the map is bounded. */
const MAX_PLANS_PER_GROUP = 1000;
const OK: PaceVerdict = { ok: true };

/**
 * Upstream-key pacing (issue 14). A group's `keyLimits` are counted per upstream key on the counter layer —
 * `uk:{keyId}:m:{model}` for the model's own limits, `uk:{keyId}` across models (always observing `rpm`, `tpm`
 * and `rpd`, so the API can show the key's usage) — exact in standalone, in Redis-claimed slices across replicas.
 * On top of that, the providers' rate-limit headers lower a key's allowance for a model until their stated reset,
 * even in groups without `keyLimits`: R requests left means at most R more admissions on this replica, and an
 * allowance at 0 parks the key. A refusal parks the key in the pool (`pace`: that model for a model's limit,
 * every model for `total`), so the next pick skips it. A group without `keyLimits` whose keys stated nothing
 * costs one Map lookup per admission.
 */
export function createKeyPacer(
  counters: CounterLayer,
  pool: Pick<KeyPool, 'pace'>,
  clock: Clock = systemClock,
): KeyPacer {
  const learned = new Map<number, Map<string, Learned>>();
  let learnedCount = 0;
  let lastSweep = clock.now();
  const plans = new WeakMap<GroupRuntime, Map<string, KeyPacingRules>>();

  const planFor = (group: GroupRuntime, model: string | null): KeyPacingRules | null => {
    const limits = group.keyLimits;
    if (limits === null) return null;
    let byModel = plans.get(group);
    if (!byModel) {
      byModel = new Map();
      plans.set(group, byModel);
    }
    const name = model ?? '';
    let plan = byModel.get(name);
    if (!plan) {
      if (byModel.size >= MAX_PLANS_PER_GROUP) byModel.clear();
      plan = keyPacingRules(limits, model, group.dailyResetTimeZone);
      byModel.set(name, plan);
    }
    return plan;
  };

  /** Parks the key (for `model`, or every model with null) for `waitMs` and answers the refusal. */
  const refuse = (group: GroupRuntime, keyId: number, model: string | null, waitMs: number): PaceVerdict => {
    const retryAfterMs = Math.max(1, Math.ceil(waitMs));
    pool.pace(group.id, keyId, model, clock.now() + retryAfterMs);
    return { ok: false, retryAfterMs };
  };
  const refuseRule = (group: GroupRuntime, keyId: number, model: string | null, r: Refusal) =>
    refuse(group, keyId, model, r.retryAfterMs ?? MINUTE_MS);

  /** The rules across models, then the admission's end: a learned allowance is spent only when admitted. */
  const admitTotal = (
    group: GroupRuntime,
    keyId: number,
    plan: KeyPacingRules,
    entry: Learned | undefined,
  ): PaceVerdict | Promise<PaceVerdict> => {
    const settle = (a: Admission): PaceVerdict => {
      if (!a.ok) return refuseRule(group, keyId, null, a);
      if (entry) entry.left -= 1;
      return OK;
    };
    const a = counters.admit(upstreamKeyCounterId(keyId), plan.total);
    return a instanceof Promise ? a.then(settle) : settle(a);
  };

  const admitLimited = (
    group: GroupRuntime,
    keyId: number,
    model: string | null,
    plan: KeyPacingRules,
    entry: Learned | undefined,
  ): PaceVerdict | Promise<PaceVerdict> => {
    if (model === null || plan.model.length === 0) return admitTotal(group, keyId, plan, entry);
    // A full `total` refuses before the model's counter counts the request (refused requests do not count).
    const full = fullRule(counters, upstreamKeyCounterId(keyId), plan.total, clock.now());
    if (full !== null) return refuse(group, keyId, null, full);
    const a = counters.admit(upstreamKeyModelCounterId(keyId, model), plan.model);
    const next = (r: Admission) =>
      r.ok ? admitTotal(group, keyId, plan, entry) : refuseRule(group, keyId, model, r);
    return a instanceof Promise ? a.then(next) : next(a);
  };

  const sweep = (now: number): void => {
    lastSweep = now;
    for (const [keyId, byModel] of learned) {
      for (const [model, e] of byModel) {
        if (Math.max(e.leftUntil, e.blockedUntil) > now) continue;
        byModel.delete(model);
        learnedCount--;
      }
      if (byModel.size === 0) learned.delete(keyId);
    }
  };

  return {
    admit(group, keyId, model) {
      let entry: Learned | undefined;
      if (learnedCount > 0) {
        entry = learned.get(keyId)?.get(model ?? '');
        if (entry) {
          const now = clock.now();
          const until = heldUntil(entry, now);
          if (until > now) return refuse(group, keyId, model, until - now);
          if (now >= entry.leftUntil) entry = undefined; // the stated window is over: nothing left to spend
        }
      }
      const plan = planFor(group, model);
      if (plan === null) {
        if (entry) entry.left -= 1;
        return OK;
      }
      return admitLimited(group, keyId, model, plan, entry);
    },

    observe(group, keyId, model, headers) {
      const now = clock.now();
      const stated = readRateLimitHeaders(group.provider.id, headers, now);
      if (stated === null) return;
      if (now - lastSweep >= SWEEP_EVERY_MS) sweep(now);
      let blockedUntil = 0;
      const { requests, tokens } = stated;
      if (requests && requests.remaining <= 0) blockedUntil = requests.resetAt;
      if (tokens && tokens.remaining <= 0) blockedUntil = Math.max(blockedUntil, tokens.resetAt);
      const leftUntil = requests && requests.remaining > 0 ? requests.resetAt : 0;
      if (blockedUntil <= now && leftUntil <= now) return;
      if (blockedUntil > now) pool.pace(group.id, keyId, model, blockedUntil);
      let byModel = learned.get(keyId);
      const name = model ?? '';
      const existing = byModel?.get(name);
      if (existing) {
        existing.left = requests?.remaining ?? existing.left;
        existing.leftUntil = leftUntil > now ? leftUntil : existing.leftUntil;
        existing.blockedUntil = blockedUntil;
        return;
      }
      if (learnedCount >= MAX_LEARNED) return;
      if (!byModel) {
        byModel = new Map();
        learned.set(keyId, byModel);
      }
      byModel.set(name, { left: requests?.remaining ?? 0, leftUntil, blockedUntil });
      learnedCount++;
    },

    record(group, keyId, model, tokens) {
      if (!(tokens > 0)) return;
      const plan = planFor(group, model);
      if (plan === null) return;
      const usage = { tokens, costUsd: 0 };
      if (model !== null && plan.model.length > 0)
        counters.record(upstreamKeyModelCounterId(keyId, model), plan.model, usage);
      counters.record(upstreamKeyCounterId(keyId), plan.total, usage);
    },
  };
}

/** Until when a learned allowance holds the key back (≤ now: it does not). */
function heldUntil(e: Learned, now: number): number {
  if (e.blockedUntil > now) return Math.max(e.blockedUntil, e.left <= 0 ? e.leftUntil : 0);
  return e.left <= 0 && e.leftUntil > now ? e.leftUntil : 0;
}

/**
 * How long until a limited rule of counter `id` that is at or over its limit frees up (null: none is), as this
 * process knows the figure — exact in standalone, a hint across replicas (the admission itself decides there).
 */
function fullRule(
  counters: CounterLayer,
  id: string,
  rules: readonly LimitRule[],
  now: number,
): number | null {
  for (const rule of rules) {
    if (rule.limit === Infinity) continue;
    const u = counters.usage(id, rule);
    if (u.used >= rule.limit) return u.resetAtMs === null ? MINUTE_MS : Math.max(1, u.resetAtMs - now);
  }
  return null;
}
