/**
 * The counter layer (issue 13, reused by issue 14's upstream-key pacing): windows of requests, tokens and cost per
 * counter id, checked on the gateway's hot path without a synchronous round trip per request.
 *
 * - Standalone (`LocalCounters`): exact, in memory; persisted usage (day, month, total) is seeded at start.
 * - Distributed (`RedisCounters`): request windows are handed out to each gateway in slices claimed atomically
 *   from Redis (a claim is a round trip once per slice, never per request), so replicas never admit more than
 *   the limit plus max(1 request, 2%); token and cost windows are pushed and pulled in the background.
 */

/** What a rule measures. `requests` are counted on admission; `tokens` and `cost` when a request finishes. */
export type Measure = 'requests' | 'tokens' | 'cost';

/**
 * `minute` = any trailing 60 s; `day` = since 00:00 in the rule's time zone (UTC unless `timeZone` is set);
 * `month` = since the 1st at 00:00 UTC; `total` = ever.
 */
export type Window = 'minute' | 'day' | 'month' | 'total';

export interface LimitRule {
  /** Shown to callers (`rpm`, `tokensPerDay` …) and part of the counter's storage key. */
  name: string;
  measure: Measure;
  window: Window;
  /** At or over this, requests are refused. `Infinity` = only observe (usage for headers and the API). */
  limit: number;
  /** IANA zone for `day` windows (issue 14: Gemini resets at midnight Pacific). */
  timeZone?: string;
}

/** A refusal: which rule, how far it is used, and when it frees up (null = never, e.g. a total budget). */
export interface Refusal {
  ok: false;
  rule: LimitRule;
  used: number;
  retryAfterMs: number | null;
}

export type Admission = { ok: true } | Refusal;

/** How far one rule is used now (for `x-ratelimit-*` headers and the API's usage). */
export interface RuleUsage {
  used: number;
  limit: number;
  /** When the window frees capacity next (epoch ms), or null (total). */
  resetAtMs: number | null;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface CounterLayer {
  /**
   * Admits one request on counter `id` under `rules`: refused when any rule is at or over its limit (token and
   * cost rules as known so far); an admitted request counts at once in every `requests` rule. Synchronous unless
   * a distributed layer must claim a new slice (then a promise; never per request). `now`: the layer's clock read
   * by the caller, who reads it once per request for this and {@link CounterLayer.usage} (default: read here).
   */
  admit(id: string, rules: readonly LimitRule[], now?: number): Admission | Promise<Admission>;
  /** Adds a finished request's tokens and cost to the `tokens` and `cost` rules of `id`. */
  record(id: string, rules: readonly LimitRule[], usage: { tokens: number; costUsd: number }): void;
  /** How far `rule` of `id` is used at `now` (default: the layer's clock now), as this process knows it. */
  usage(id: string, rule: LimitRule, now?: number): RuleUsage;
  /**
   * How far `rule` of `id` is used across the deployment (the control plane's `rpmNow` and usage figures):
   * distributed, read from Redis; standalone, the same figure as `usage`.
   */
  read(id: string, rule: LimitRule): Promise<RuleUsage>;
  /**
   * Adds usage persisted elsewhere (the database) to a day, month or total window, e.g. at start: standalone
   * adds it to its memory; a distributed layer adds it in Redis only where the window's counter is absent (Redis
   * lost its data), so budgets survive a restart of everything but the database.
   */
  seed(id: string, rule: LimitRule, used: number): void | Promise<void>;
  close(): Promise<void>;
}
