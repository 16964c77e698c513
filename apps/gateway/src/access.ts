import { lookupPrice } from '@keyway/contracts';
import { maskSecret } from '@keyway/core';
import { hashProxyKey } from '@keyway/keypool';
import type { Admission, Clock, CounterLayer, LimitRule, RuleUsage } from '@keyway/limits';
import type { AccessKeyRuntime, GatewayRuntime, GroupRuntime } from './runtime';
import { GroupModelMemo, modelsFor, sentModel } from './runtime';

/**
 * Who a presented secret belongs to: an access key (valid or not: disabled and expired keys are known callers,
 * refused by {@link authorizeAccessKey} naming the key), or a bare proxy key (`group` null = a global one).
 */
export type Caller =
  | { kind: 'access'; key: AccessKeyRuntime; masked: string }
  | { kind: 'proxy'; group: GroupRuntime | null; masked: string };

/** A request the gateway refuses for its access key, as the client gets it (in the channel's dialect). */
export interface AccessRefusal {
  ok: false;
  status: 401 | 403 | 429;
  code: string;
  /** Names the access key by `name` (never the secret), and the group, model or limit at stake. */
  message: string;
  headers: Record<string, string>;
}

/** Admitted: `headers` are the `x-ratelimit-*` headers that describe the access key (empty without limits). */
export type AccessVerdict = { ok: true; headers: Record<string, string> } | AccessRefusal;

/** The counter layer's id of an access key (`ak:{id}`), made once per key (it is used on every request). */
export function accessCounterId(key: AccessKeyRuntime): string {
  return planOf(key).id;
}

/** Secrets that resolved, with their hash and mask: a SHA-256 per request showed up in profiles. */
const RESOLVED_KEPT = 1024;

/** Resolves presented secrets against a runtime; one per handler (its memory of accepted secrets is shared). */
export interface CallerResolver {
  /**
   * The caller a presented secret belongs to in `runtime`, or null (missing or unknown). With `group`, a bare
   * proxy key must be that group's or a global one; without, a group proxy key resolves to its own group. An
   * access key wins over a proxy key with the same hash (the operator moved it; its limits apply).
   */
  resolve(runtime: GatewayRuntime, secret: string | null, group?: GroupRuntime): Caller | null;
}

/**
 * A resolver that hashes each secret once. Only secrets that resolved are remembered (a caller spraying random
 * keys cannot churn the memory), and what they resolve to is looked up in the current runtime on every request:
 * a revoked key is refused at the next request after the configuration changes.
 */
export function createCallerResolver(): CallerResolver {
  const known = new Map<string, { hash: string; masked: string }>();
  return {
    resolve(runtime, secret, group) {
      if (!secret) return null;
      const seen = known.get(secret);
      const hash = seen ? seen.hash : hashProxyKey(secret);
      const caller = callerOf(runtime, hash, seen?.masked ?? null, secret, group);
      if (caller && !seen) {
        if (known.size >= RESOLVED_KEPT) known.clear();
        known.set(secret, { hash, masked: caller.masked });
      }
      return caller;
    },
  };
}

function callerOf(
  runtime: GatewayRuntime,
  hash: string,
  masked: string | null,
  secret: string,
  group: GroupRuntime | undefined,
): Caller | null {
  const key = runtime.accessKeys.get(hash);
  if (key) return { kind: 'access', key, masked: masked ?? maskSecret(secret) };
  if (runtime.proxyKeyHashes.has(hash))
    return { kind: 'proxy', group: null, masked: masked ?? maskSecret(secret) };
  if (group) {
    if (!group.proxyKeyHashes.has(hash)) return null;
    return { kind: 'proxy', group, masked: masked ?? maskSecret(secret) };
  }
  const own = runtime.groupList.find((g) => g.proxyKeyHashes.has(hash));
  return own ? { kind: 'proxy', group: own, masked: masked ?? maskSecret(secret) } : null;
}

/**
 * Checks what an access key allows before the body is read: 401 when it is disabled or expired, 403 when `group`
 * is outside its scope (null: the caller picks among `key.groups` itself, as key-routed requests do).
 */
export function authorizeAccessKey(
  key: AccessKeyRuntime,
  group: GroupRuntime | null,
  now: number,
): AccessRefusal | null {
  if (!key.enabled) return refusal(401, 'UNAUTHORIZED', `Access key '${key.name}' is disabled`);
  if (key.expiresAtMs !== null && now >= key.expiresAtMs)
    return refusal(
      401,
      'UNAUTHORIZED',
      `Access key '${key.name}' expired at ${new Date(key.expiresAtMs).toISOString()}`,
    );
  if (group && !key.groupIds.has(group.id))
    return refusal(403, 'GROUP_NOT_ALLOWED', `Access key '${key.name}' may not use group '${group.name}'`);
  return null;
}

/** What {@link admitAccessKey} needs besides the key. */
export interface AdmitDeps {
  counters: CounterLayer;
  clock: Clock;
}

/**
 * Checks the model the client named (`model`, null when it names none) against the key's allow-list and, for a
 * key with a USD limit, the price table (the model `group` would serve, after redirects); then admits the request
 * under the key's limits — counting it, so call this only for a request that will be forwarded. Synchronous
 * unless the counter layer must claim a new slice.
 */
export function admitAccessKey(
  deps: AdmitDeps,
  runtime: GatewayRuntime,
  key: AccessKeyRuntime,
  group: GroupRuntime,
  request: { method: string; model: string | null },
): AccessVerdict | Promise<AccessVerdict> {
  const { model } = request;
  if (model === null) {
    // Without a model, neither the allow-list nor the price can be checked: only reads pass (model lists).
    if ((key.costLimited || !key.allowsModel('')) && !READS.has(request.method))
      return refusal(
        403,
        'MODEL_REQUIRED',
        `Access key '${key.name}' only serves requests that name a model${key.costLimited ? ' (it has a USD limit)' : ''}`,
      );
  } else {
    if (!key.allowsModel(model))
      return refusal(403, 'MODEL_NOT_ALLOWED', `Access key '${key.name}' may not use model '${model}'`);
    if (key.costLimited) {
      const unpriced = unpricedModels.get(group, model, runtime.prices);
      if (unpriced !== null)
        return refusal(
          403,
          'MODEL_NOT_PRICED',
          `Model '${unpriced}' has no price, and access key '${key.name}' has a USD limit: add a price for '${unpriced}' to use it`,
        );
    }
  }
  // One clock read for the admission and the headers (the deps' clock is the counter layer's own).
  const now = deps.clock.now();
  const plan = planOf(key);
  const admission = deps.counters.admit(plan.id, key.rules, now);
  return admission instanceof Promise
    ? admission.then((a) => verdictOf(deps, key, plan, a, deps.clock.now()))
    : verdictOf(deps, key, plan, admission, now);
}

/** Methods that never run a model: a model-less request with one of these may pass a model-restricted key. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A model a request for `model` could be served as in `group` that has no price (null: all are priced). Found
 * once per group, model and price table.
 */
const unpricedModels = new GroupModelMemo(
  (group, model, prices: GatewayRuntime['prices']) =>
    servedModels(group, model ?? '').find((m) => lookupPrice(prices, m) === null) ?? null,
);

/** The models a request for `model` may be served as in `group` (an aggregate: as any member would redirect it). */
function servedModels(group: GroupRuntime, model: string): string[] {
  // An alias is served by each model it lists (an aggregate's own alias expands before its members').
  const members =
    group.type === 'aggregate' && group.subGroups.items.length > 0
      ? group.subGroups.items.map((m) => m.group)
      : [group];
  return modelsFor(group, model).flatMap((listed) =>
    members.flatMap((g) =>
      (g === group ? [listed] : modelsFor(g, listed)).map((m) => sentModel(g, m) ?? model),
    ),
  );
}

function verdictOf(
  deps: AdmitDeps,
  key: AccessKeyRuntime,
  plan: HeaderPlan,
  a: Admission,
  now: number,
): AccessVerdict {
  const headers = rateLimitHeaders(deps.counters, plan, now);
  if (a.ok) return { ok: true, headers };
  if (a.retryAfterMs !== null) headers['retry-after'] = String(Math.max(1, Math.ceil(a.retryAfterMs / 1000)));
  return refusal(429, 'RATE_LIMITED', limitMessage(key, a.rule, a.retryAfterMs), headers);
}

/** A limited minute rule that has `x-ratelimit-*` headers, with its limit as the header writes it. */
interface HeaderRule {
  rule: LimitRule;
  limit: string;
}

/** What the headers of a key take from its rules, worked out once per key rather than on every request. */
interface HeaderPlan {
  /** The key's counter id. */
  id: string;
  /** The key's finite `rpm` and `tpm` rules (null when unset or only observed). */
  requests: HeaderRule | null;
  tokens: HeaderRule | null;
}

/** Plans by key: a reload compiles new keys, so a plan never outlives its rules. */
const plans = new WeakMap<AccessKeyRuntime, HeaderPlan>();

function planOf(key: AccessKeyRuntime): HeaderPlan {
  let plan = plans.get(key);
  if (!plan) {
    const headerRule = (measure: LimitRule['measure']): HeaderRule | null => {
      // The last such rule, as a header written once per rule would end up (access keys have one of each).
      const rule = key.rules.findLast(
        (r) => r.window === 'minute' && r.measure === measure && Number.isFinite(r.limit),
      );
      return rule ? { rule, limit: String(rule.limit) } : null;
    };
    plan = { id: `ak:${key.id}`, requests: headerRule('requests'), tokens: headerRule('tokens') };
    plans.set(key, plan);
  }
  return plan;
}

/**
 * OpenAI's `x-ratelimit-*` headers for the key's `rpm` and `tpm` limits (when set), in place of the upstream's
 * (which describe a pooled upstream key the caller has no business seeing). Each combination is one object
 * literal: V8 builds those from a template, where assigning computed names one by one showed up in profiles.
 */
function rateLimitHeaders(counters: CounterLayer, plan: HeaderPlan, now: number): Record<string, string> {
  const { id, requests, tokens } = plan;
  if (requests === null) {
    if (tokens === null) return {};
    const t = counters.usage(id, tokens.rule, now);
    return {
      'x-ratelimit-limit-tokens': tokens.limit,
      'x-ratelimit-remaining-tokens': remaining(tokens.rule, t),
      'x-ratelimit-reset-tokens': resetIn(t, now),
    };
  }
  const r = counters.usage(id, requests.rule, now);
  if (tokens === null) {
    return {
      'x-ratelimit-limit-requests': requests.limit,
      'x-ratelimit-remaining-requests': remaining(requests.rule, r),
      'x-ratelimit-reset-requests': resetIn(r, now),
    };
  }
  const t = counters.usage(id, tokens.rule, now);
  return {
    'x-ratelimit-limit-requests': requests.limit,
    'x-ratelimit-remaining-requests': remaining(requests.rule, r),
    'x-ratelimit-reset-requests': resetIn(r, now),
    'x-ratelimit-limit-tokens': tokens.limit,
    'x-ratelimit-remaining-tokens': remaining(tokens.rule, t),
    'x-ratelimit-reset-tokens': resetIn(t, now),
  };
}

function remaining(rule: LimitRule, u: RuleUsage): string {
  return String(Math.max(0, Math.floor(rule.limit - u.used)));
}

function resetIn(u: RuleUsage, now: number): string {
  return formatDuration(u.resetAtMs === null ? 0 : u.resetAtMs - now);
}

/** `Access key 'team-a' reached its rpm limit (60 requests per minute): retry in 12s`. */
function limitMessage(key: AccessKeyRuntime, rule: LimitRule, retryAfterMs: number | null): string {
  const what = `Access key '${key.name}' reached its ${rule.name} limit (${amount(rule)} ${PER[rule.window]})`;
  if (retryAfterMs === null) return `${what}: it does not reset; an administrator can raise it`;
  const wait = formatDuration(retryAfterMs);
  if (rule.window === 'minute') return `${what}: retry in ${wait}`;
  const at =
    rule.window === 'month'
      ? 'on the 1st at 00:00 UTC'
      : `at 00:00${rule.timeZone ? ` ${rule.timeZone}` : ' UTC'}`;
  return `${what}: it resets ${at}, in ${wait}`;
}

const PER: Record<LimitRule['window'], string> = {
  minute: 'per minute',
  day: 'per day',
  month: 'per month',
  total: 'in total',
};

function amount(rule: LimitRule): string {
  if (rule.measure === 'cost') return `$${rule.limit}`;
  return `${rule.limit} ${rule.measure}`;
}

/** A duration as OpenAI's `x-ratelimit-reset-*` headers write it: `20ms`, `1s`, `1.5s`, `6m0s`, `1h2m3s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total < 1000) return total === 0 ? '0s' : `${total}ms`;
  // Under a minute (a minute window's reset, on every response): no hours or minutes to work out.
  if (total < 60_000) return `${seconds(total)}s`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = `${seconds(total % 60_000)}s`;
  if (h > 0) return `${h}h${m}m${s}`;
  return m > 0 ? `${m}m${s}` : s;
}

/** Whole milliseconds as seconds without trailing zeros (`1500` → `1.5`, `2000` → `2`), in integer arithmetic. */
function seconds(ms: number): string {
  const whole = Math.floor(ms / 1000);
  let frac = ms % 1000;
  if (frac === 0) return String(whole);
  let digits = 3;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  return `${whole}.${String(frac).padStart(digits, '0')}`;
}

function refusal(
  status: AccessRefusal['status'],
  code: string,
  message: string,
  headers: Record<string, string> = {},
): AccessRefusal {
  return { ok: false, status, code, message, headers };
}
