import type { Attempt } from '@keyway/contracts';
import { maskSecret } from '@keyway/core';
import type { PreviousOutcome } from './attempt-planner';
import type { ForwardContext, ForwardDeps } from './context';
import { redact, truncate } from './request-record';
import type { GroupRuntime, UpstreamRuntime } from './runtime';
import type { SentResult } from './upstream-call';

/**
 * Records what one sent attempt says about health: the upstream's penalty, the storm guard's window, the key's
 * state in the pool (not charged in a storm or when the upstream could not be reached at all), and keys charged
 * while a storm was building forgiven. Returns the attempt as the log shows it and the outcome the planner needs.
 */
export function recordAttempt(
  deps: ForwardDeps,
  ctx: ForwardContext,
  group: GroupRuntime,
  key: { id: number; value: string },
  upstream: UpstreamRuntime,
  result: SentResult,
  startedMs: number,
): { attempt: Attempt; outcome: PreviousOutcome } {
  const c = result.classification;
  const transport = result.kind === 'transport' ? result.transport : null;
  const statusCode = result.kind === 'response' ? result.response.statusCode : result.timeout ? 504 : 502;
  if (c.class === 'ok') {
    deps.upstreamHealth.succeed(upstream.url);
    deps.guard.ok(group.id);
  } else if (c.class === 'upstream' && (transport !== null || statusCode >= 500))
    deps.upstreamHealth.fail(upstream.url);
  // A storm (most keys failing the same way at once) is not the keys' fault; neither is an upstream that cannot
  // be reached at all (the key never left this machine).
  const verdict = deps.guard.record(group.id, key.id, c.class, deps.keyPool.keyCount(group.id));
  // Keys charged while the storm was building were not at fault either.
  for (const id of verdict.absolve)
    if (id !== key.id) deps.keyPool.setStatus(group.id, id, 'active', 'recovered');
  const unreachable = transport === 'connect' || transport === 'timeout-connect';
  if (!verdict.storm && !unreachable)
    deps.keyPool.report(
      group.id,
      key.id,
      c.retryAfterMs === undefined
        ? { class: c.class, reason: c.reason }
        : { class: c.class, retryAfterMs: c.retryAfterMs, reason: c.reason },
      group.policy,
    );
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
          ? null
          : redact(truncate(result.errorBody), key.value, ctx, deps),
  };
  return { attempt, outcome: { class: c.class, retryable: c.retryable, storm: verdict.storm } };
}
