import type { Attempt } from '@keyway/contracts';
import { maskProxyUrl } from '@keyway/contracts';
import { maskSecret } from '@keyway/core';
import type { Classification } from '@keyway/core';
import type { ReportedOutcome } from '@keyway/keypool';
import type { PreviousOutcome, SendStep } from './attempt-planner';
import type { ForwardContext, ForwardDeps } from './context';
import { isProxyFailureText, PROXY_FAILURE } from './egress-proxy';
import { redact, truncate } from './request-record';
import { NO_STORM } from './storm-guard';
import { endAttemptSpan } from './tracing';
import type { SentResult } from './upstream-call';

/**
 * Records what one sent attempt says about health: the upstream's penalty, the storm guard's window, the key's
 * state in the pool (not charged in a storm or when the upstream could not be reached at all; for one model only
 * when the provider scoped the error to it), keys charged while a storm was building forgiven, and what the
 * response's rate-limit headers say about the key's allowance. Returns the attempt as the log shows it and the
 * outcome the planner needs.
 */
export function recordAttempt(
  deps: ForwardDeps,
  ctx: ForwardContext,
  step: SendStep,
  result: SentResult,
  startedMs: number,
): { attempt: Attempt; outcome: PreviousOutcome } {
  const { candidate, key, upstream } = step;
  const { group } = candidate;
  const transport = result.kind === 'transport' ? result.transport : null;
  // The egress proxy failing says nothing about the key or the upstream: the proxy is penalised instead.
  const proxyFailed = result.kind === 'transport' && isProxyFailureText(result.error);
  const c = proxyFailed ? PROXY_FAILURE : result.classification;
  if (result.proxy !== undefined) recordProxy(deps, result.proxy, proxyFailed ? 'failed' : result.kind);
  const statusCode = result.kind === 'response' ? result.response.statusCode : result.timeout ? 504 : 502;
  if (result.kind === 'response' && deps.pacing)
    deps.pacing.observe(group, key.id, candidate.sentModel, result.response.headers);
  if (c.class === 'ok') {
    deps.upstreamHealth.succeed(upstream.url);
    deps.guard.ok(group.id);
  } else if (c.class === 'overloaded') deps.upstreamHealth.fail(upstream.url, undefined, 'brief');
  else if (c.class === 'upstream' && (transport !== null || statusCode >= 500))
    deps.upstreamHealth.fail(upstream.url);
  // A storm (most keys failing the same way at once) is not the keys' fault; neither is an upstream that cannot
  // be reached at all (the key never left this machine). A busy provider, an empty reply, a slow first token and
  // a quota of one model say nothing about a storm of the group's keys.
  const neutral =
    c.class === 'overloaded' || c.class === 'empty' || c.class === 'slow' || c.model !== undefined;
  const verdict = neutral
    ? NO_STORM
    : deps.guard.record(group.id, key.id, c.class, deps.keyPool.keyCount(group.id));
  // Keys charged while the storm was building were not at fault either: those charges are taken back (and only
  // those: a key disabled, or found invalid by a 401, in the meantime stays so).
  for (const id of verdict.absolve)
    if (id !== key.id) deps.keyPool.absolve(group.id, id, verdict.cls, group.policy);
  const unreachable = transport === 'connect' || transport === 'timeout-connect' || proxyFailed;
  if (!verdict.storm && !unreachable)
    deps.keyPool.report(group.id, key.id, reportOf(c, step.probe), group.policy);
  const attempt: Attempt = {
    keyId: key.id,
    key: maskSecret(key.value),
    upstreamUrl: upstream.url,
    statusCode,
    class: c.class,
    durationMs: Math.round(performance.now() - startedMs),
    error:
      result.kind === 'transport'
        ? redact(result.error, key.value, ctx, deps)
        : result.errorBody === null
          ? c.class === 'empty'
            ? c.reason
            : null
          : redact(truncate(result.errorBody), key.value, ctx, deps),
  };
  // Added rather than spread into the literal (this runs for every attempt): absent when direct, or no model named.
  if (result.proxy !== undefined) attempt.proxy = maskProxyUrl(result.proxy);
  if (candidate.sentModel !== null) attempt.model = candidate.sentModel;
  if (ctx.trace) endAttemptSpan(ctx.trace, attempt);
  return { attempt, outcome: { class: c.class, retryable: c.retryable, storm: verdict.storm } };
}

/** A reply through the key's proxy clears its record; a proxy failure penalises it (1 s doubling to 60 s). */
function recordProxy(deps: ForwardDeps, proxy: string, how: 'failed' | SentResult['kind']): void {
  if (how === 'transport') return;
  if (how === 'failed') deps.clients.proxyHealth.fail(proxy);
  else deps.clients.proxyHealth.succeed(proxy);
}

/** The pool's report of a classification (no copy of the optional fields that are absent). */
function reportOf(c: Classification, probe: boolean): ReportedOutcome {
  const r: ReportedOutcome = { class: c.class, reason: c.reason };
  if (c.retryAfterMs !== undefined) r.retryAfterMs = c.retryAfterMs;
  if (c.model !== undefined) r.model = c.model;
  if (probe) r.probe = true;
  return r;
}
