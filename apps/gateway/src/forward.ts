import type { Attempt } from '@keyway/contracts';
import type { Provider } from '@keyway/providers';
import type { PickedKey } from '@keyway/keypool';
import type { Candidate, HealthView, PlannerExtras } from './attempt-planner';
import { AttemptPlanner, modeOf, tiersOf } from './attempt-planner';
import { recordAttempt } from './attempt-recorder';
import { rewriteBody } from './body';
import type { ForwardContext, ForwardDeps } from './context';
import { baseRecord, finishRecord } from './request-record';
import { sendDialectError } from './respond';
import { writeExhausted, writeResult } from './response-writer';
import type { Rewritten, SentResult } from './upstream-call';
import { sendAttempt } from './upstream-call';
import type { GroupRuntime } from './runtime';
import type { StormGuard } from './storm-guard';
import { useCandidate } from './translate';
import type { UpstreamHealth } from './upstream-health';

export type { ForwardContext, ForwardDeps, SecretMasker } from './context';
export { recordRefusal } from './request-record';

/**
 * Forwards one accepted request: the planner says where to try next, each attempt is sent, its health recorded,
 * and the last result written to the client. Retries happen only while nothing has been sent to the client.
 * `candidates` (key-routed requests) are the groups to walk in order instead of `ctx.group` alone; the record then
 * names the one that served.
 */
export async function forward(
  ctx: ForwardContext,
  deps: ForwardDeps,
  candidates?: readonly GroupRuntime[],
): Promise<void> {
  const roots = candidates ?? ctx.group;
  let root = ctx.group;
  const view = {
    method: ctx.req.method ?? 'GET',
    path: ctx.path,
    query: ctx.query,
    headers: ctx.req.headers,
    body: ctx.body,
  };
  const model = ctx.model !== undefined ? ctx.model : root.provider.extractModel(view);
  const stream = root.provider.isStream(view);
  const record = baseRecord(ctx, model, stream);
  const planner = new AttemptPlanner(
    tiersOf(roots, model),
    deps.keyPool,
    deps.health,
    modeOf(roots),
    deps.onConfigProblem,
    plannerExtras(ctx, deps),
  );
  // The record names the candidate that is being tried (key-routed requests may move on to another).
  const reachedVia = (via: GroupRuntime): void => {
    if (via === root) return;
    root = via;
    record.groupId = via.id;
    record.groupName = via.name;
  };
  const attempts: Attempt[] = [];
  let last: SentResult | null = null;
  let lastKey: PickedKey | null = null;
  let lastGroup = root;
  let rewritten = null as (Rewritten & { candidate: Candidate }) | null;

  let next = planner.next();
  for (let step = next instanceof Promise ? await next : next; step.kind === 'send';) {
    const { group } = step.candidate;
    reachedVia(step.candidate.via);
    // The previous attempt's response (if any) is not what the client gets: free its connection.
    if (last?.kind === 'response') last.response.body.destroy();
    if (rewritten?.candidate !== step.candidate) {
      // A translated request is sent as this candidate's channel speaks (key-routed candidates may differ).
      if (ctx.translation) useCandidate(ctx, group, record);
      // An alias is sent as the model of this candidate; the group's redirect then applies to that name.
      const asked = step.candidate.model;
      const named = asked === model ? ctx : namingModel(group.provider, ctx.path, ctx.body, asked);
      const r = rewriteBody(group, named.path, named.body);
      if (!r.ok) {
        const message = `model '${r.model}' is not configured in redirect rules`;
        sendDialectError(ctx.res, group.provider, 400, 'MODEL_NOT_ALLOWED', message);
        return finishRecord(deps, record, ctx, {
          statusCode: 400,
          error: message,
          attempts,
          groupOf: group,
          root,
          key: null,
        });
      }
      rewritten = { candidate: step.candidate, body: r.body, path: r.path, model: step.candidate.sentModel };
    }
    const t0 = performance.now();
    const { origin, basePath } = step.upstream;
    const result = await sendAttempt(ctx, rewritten, stream, group, step.key, origin, basePath, deps.clients);
    if (result.kind === 'presend') {
      // Nothing reached the upstream: no health, storm-guard or pool bookkeeping, no attempt to show.
      planner.presend(group, result.problem);
      last = null;
      break;
    }
    last = result;
    lastKey = step.key;
    lastGroup = group;
    const r = recordAttempt(deps, ctx, step, result, t0);
    attempts.push(r.attempt);
    if (r.outcome.class === 'aborted')
      return finishRecord(deps, record, ctx, {
        statusCode: 499,
        error: 'client closed the request',
        attempts,
        groupOf: group,
        root,
        key: step.key,
      });
    if (r.outcome.class === 'ok' && deps.affinity && group.affinity) {
      const session = deps.affinity.sessionOf(ctx, group);
      if (session !== null) deps.affinity.served(group, session, step.key.id);
    }
    next = planner.next(r.outcome);
    step = next instanceof Promise ? await next : next;
  }

  if (!last || !lastKey) {
    if (planner.candidate) reachedVia(planner.candidate.via);
    const groupOf = planner.candidate?.group ?? root;
    return writeExhausted(ctx, deps, record, planner.exhaustion(), { attempts, groupOf, root, key: null });
  }
  return writeResult(ctx, deps, record, last, stream, { attempts, groupOf: lastGroup, root, key: lastKey });
}

/**
 * The request naming `model` instead of the one the client named (an alias): in the path where the channel names
 * it there (Gemini), else as the JSON body's `model`. A body that is not a JSON object is left as it is.
 */
function namingModel(
  provider: Provider,
  path: string,
  body: Buffer | null,
  model: string | null,
): { path: string; body: Buffer | null } {
  if (model === null) return { path, body };
  const inPath = provider.modelInPath?.(path);
  if (inPath) return { path: inPath.withModel(model), body };
  if (!body || body.length === 0) return { path, body };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { path, body };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { path, body };
  return { path, body: Buffer.from(JSON.stringify({ ...parsed, model })) };
}

/** Pacing and affinity for one request's planner (nothing when neither is configured). */
function plannerExtras(ctx: ForwardContext, deps: ForwardDeps): PlannerExtras {
  const { pacing, affinity } = deps;
  if (!affinity) return pacing ? { pacing } : {};
  return { pacing, affinity, sessionOf: (group) => affinity.sessionOf(ctx, group) };
}

/** The storm guard and upstream penalties as the planner reads them; built once per set of collaborators. */
export function healthView(guard: StormGuard, upstreamHealth: UpstreamHealth): HealthView {
  return {
    guardOpen: (groupId) => {
      const verdict = guard.check(groupId);
      return verdict.open ? verdict.retryAfterMs : null;
    },
    isPenalized: (upstream) => upstreamHealth.isPenalized(upstream.url),
  };
}
