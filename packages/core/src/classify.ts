import type { FailureClass } from '@keyway/contracts';

/** What the gateway knows about one upstream attempt. */
export interface Outcome {
  /** HTTP status, or 0 when no response arrived. */
  status: number;
  /** Response headers (lower-case names), when a response arrived. */
  headers?: Record<string, string | string[] | undefined>;
  /** The (small) error body as text, when one was read. */
  body?: string;
  /** Transport failure kind, when no response arrived. */
  transport?:
    'connect' | 'timeout-connect' | 'timeout-headers' | 'timeout-body' | 'reset' | 'aborted' | 'other';
  /**
   * The model the request sent upstream (after aliasing and redirects), when known. A quota or rate error the
   * provider scopes to a model cools the key for this name, the one the pool picks keys by.
   */
  model?: string | null;
}

/** The classifier's verdict. */
export interface Classification {
  class: FailureClass;
  /** Whether another key may be tried. */
  retryable: boolean;
  /** When the key may be used again, if the provider said so (ms from now). */
  retryAfterMs?: number;
  /** Short reason for logs and `lastError`. */
  reason: string;
  /**
   * The model the provider scoped a quota or rate error to (the key cools for that model only); absent = the
   * whole key.
   */
  model?: string;
}

/** Provider-specific hints layered over the generic rules. */
export interface ClassifierRules {
  /** Body text (lower-cased) that marks a 4xx as a revoked/invalid key. */
  authPatterns: readonly RegExp[];
  /** Body text that marks a 429/403 as exhausted quota rather than a rate limit. */
  quotaPatterns: readonly RegExp[];
  /** Body text that marks a 400 as a billing problem of the key (no credit left): quota, not a client error. */
  billingPatterns?: readonly RegExp[];
  /**
   * Body text that marks a 401/403/429 as a dead account or key (suspended, deactivated, billing disabled): invalid
   * at once, even when the same body also reads like a quota ("billing").
   */
  suspendedPatterns?: readonly RegExp[];
  /** Body text that marks a 503/529 as the provider being overloaded: its fault, not the key's. */
  overloadedPatterns?: readonly RegExp[];
  /**
   * A provider-stated reset delay (ms) from headers/body (`body` lower-cased), beyond Retry-After. `null` says the
   * error is one a stated delay does not end (an empty balance): the health policy's own cooldown applies.
   */
  resetDelayMs?: (outcome: Outcome, body: string) => number | null | undefined;
  /**
   * The model a 403/429 quota or rate error is scoped to (`body` lower-cased), when the provider says the limit
   * is per model: the key then cools for that model only. Undefined = the whole key.
   */
  modelScope?: (outcome: Outcome, body: string) => string | undefined;
}

export const genericRules: ClassifierRules = {
  authPatterns: [
    /invalid[ _-]?(api[ _-]?)?key/,
    /incorrect api key/,
    /revoked/,
    /suspended/,
    /deactivated/,
    /unauthori[sz]ed/,
    /permission[ _-]denied/,
  ],
  quotaPatterns: [
    /quota/,
    /billing/,
    /insufficient[ _-]balance/,
    /credit/,
    /exhausted/,
    /exceeded your current/,
  ],
  suspendedPatterns: [
    /suspended/,
    /deactivated/,
    /has been disabled/,
    /billing[ _-]?(?:is[ _-]|has been[ _-])?disabled/,
    /disabled for billing/,
    /requires billing to be enabled/,
  ],
  overloadedPatterns: [/overloaded/, /over capacity/],
};

/**
 * A `modelScope` for a provider whose limit messages name the model the limit was counted for (`pattern` captures
 * the name): the key cools for the request's model, the name the pool picks keys by (the provider may name a
 * dated snapshot of an alias), else for the named one.
 */
export function namedModelScope(pattern: RegExp): NonNullable<ClassifierRules['modelScope']> {
  return (outcome, body) => {
    const named = pattern.exec(body)?.[1];
    return named === undefined ? undefined : outcome.model || named;
  };
}

/** Parses Retry-After (seconds or an HTTP date) into ms from `now`. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return secs >= 0 && v.trim() !== '' ? Math.round(secs * 1000) : undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const ok: Classification = { class: 'ok', retryable: false, reason: 'ok' };

/**
 * Classifies one upstream outcome into a key-health class (DESIGN §5). `forcedFailover`, when given, is
 * GPT-Load's `failoverStatusCodes`: it decides which statuses fail over, overriding the class's default.
 */
export function classifyOutcome(
  outcome: Outcome,
  rules: ClassifierRules = genericRules,
  forcedFailover?: (status: number) => boolean,
): Classification {
  const c = classifyRaw(outcome, rules);
  if (forcedFailover && outcome.status > 0 && c.class !== 'aborted') {
    const fail = forcedFailover(outcome.status);
    if (!fail) return outcome.status < 400 ? ok : { ...c, class: 'client', retryable: false };
    if (c.class === 'client' || c.class === 'ok') return { ...c, class: 'upstream', retryable: true };
    return { ...c, retryable: true };
  }
  return c;
}

const matches = (patterns: readonly RegExp[] | undefined, body: string): boolean =>
  patterns?.some((p) => p.test(body)) ?? false;

function classifyRaw(outcome: Outcome, rules: ClassifierRules): Classification {
  const { status } = outcome;
  if (status === 0) {
    if (outcome.transport === 'aborted')
      return { class: 'aborted', retryable: false, reason: 'client aborted' };
    return { class: 'upstream', retryable: true, reason: transportReason(outcome.transport) };
  }
  if (status < 400) return ok;
  const body = (outcome.body ?? '').toLowerCase();
  const stated = rules.resetDelayMs?.(outcome, body);
  const delay = stated === undefined ? parseRetryAfter(outcome.headers?.['retry-after']) : stated;
  const retryAfter = delay === undefined || delay === null ? {} : { retryAfterMs: delay };
  if (status === 401) return { class: 'auth', retryable: true, reason: `401 unauthorized` };
  if (status === 402)
    return { class: 'quota', retryable: true, reason: '402 payment required', ...retryAfter };
  if (status === 403 || status === 429) {
    // A dead account often mentions billing too ("billing disabled"): it must not read as a quota that refills.
    if (matches(rules.suspendedPatterns, body))
      return { class: 'auth', retryable: true, reason: `${status} account suspended` };
    const quota = matches(rules.quotaPatterns, body);
    if (status === 403 && !quota) return { class: 'auth', retryable: true, reason: '403 forbidden' };
    const model = rules.modelScope?.(outcome, body);
    const scope = model ? { model } : {};
    if (quota) {
      const reason = status === 403 ? '403 quota' : '429 quota exhausted';
      return { class: 'quota', retryable: true, reason, ...retryAfter, ...scope };
    }
    return { class: 'rate', retryable: true, reason: '429 rate limited', ...retryAfter, ...scope };
  }
  if (status === 408) return { class: 'upstream', retryable: true, reason: '408 upstream timeout' };
  if ((status === 503 || status === 529) && matches(rules.overloadedPatterns, body))
    return { class: 'overloaded', retryable: true, reason: `${status} upstream overloaded`, ...retryAfter };
  if (status >= 500)
    return { class: 'upstream', retryable: true, reason: `${status} upstream error`, ...retryAfter };
  if (status === 400 && matches(rules.billingPatterns, body))
    return { class: 'quota', retryable: true, reason: '400 billing', ...retryAfter };
  if (status === 400 && matches(rules.authPatterns, body))
    return { class: 'auth', retryable: true, reason: '400 invalid key' };
  return { class: 'client', retryable: false, reason: `${status} client error` };
}

function transportReason(t: Outcome['transport']): string {
  switch (t) {
    case 'connect':
      return 'connect failed';
    case 'timeout-connect':
      return 'connect timeout';
    case 'timeout-headers':
      return 'response header timeout';
    case 'timeout-body':
      return 'body timeout';
    case 'reset':
      return 'connection reset';
    default:
      return 'transport error';
  }
}
