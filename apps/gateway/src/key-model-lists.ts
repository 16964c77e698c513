import type { Attempt } from '@keyway/contracts';
import { decodeBody } from '@keyway/providers';
import type { ModelListFormat, Provider } from '@keyway/providers';
import { AttemptPlanner, modeOf, tiersOf } from './attempt-planner';
import { recordAttempt } from './attempt-recorder';
import type { ForwardContext, ForwardDeps } from './context';
import { baseRecord, finishRecord } from './request-record';
import { sendDialectError } from './respond';
import type { GroupRuntime } from './runtime';
import { headerString, sendAttempt } from './upstream-call';

/** One group's answer to a model-list request: its list (redirects applied), or null when it gave none. */
interface GroupList {
  list: unknown;
  served: { group: GroupRuntime; key: { id: number; value: string } } | null;
}

/**
 * Answers a key-routed model-list request (`GET /v1/models`, Anthropic's, Gemini's `/v1beta/models`) with the
 * union of what the caller may use: each candidate group's upstream list (asked once, with the group's redirects
 * shown as `/proxy/{group}` shows them), only the models the group serves by its `models` globs and the access key
 * allows, each model once, in the channel's list format. A group whose upstream does not answer is left out; when
 * none answers the request fails in the channel's dialect.
 */
export async function sendModelUnion(
  ctx: ForwardContext,
  deps: ForwardDeps,
  candidates: readonly GroupRuntime[],
  provider: Provider,
  format: ModelListFormat,
): Promise<void> {
  const record = baseRecord(ctx, null, false);
  const attempts: Attempt[] = [];
  const allows = ctx.accessKey?.allowsModel ?? (() => true);
  const lists: unknown[] = [];
  let first: GroupList['served'] = null;
  // One after the other: an attempt owns the request's close hook while it runs.
  for (const group of candidates) {
    const answer = await listOf(ctx, deps, group, format, attempts);
    if (ctx.res.destroyed) {
      return finishRecord(deps, record, ctx, {
        statusCode: 499,
        error: 'client closed the request',
        attempts,
        groupOf: group,
        root: group,
        key: answer.served?.key ?? null,
      });
    }
    if (answer.list === null) continue;
    first ??= answer.served;
    lists.push(format.union([answer.list], (name) => group.servesModel(name) && allows(name)));
  }
  const body = lists.length > 0 ? format.union(lists, () => true) : null;
  const groupOf = first?.group ?? ctx.group;
  if (body === null) {
    const message = `None of the ${candidates.length} group(s) available to this key could list its models`;
    sendDialectError(ctx.res, provider, 502, 'UPSTREAM_UNREACHABLE', message);
    return finishRecord(deps, record, ctx, {
      statusCode: 502,
      error: message,
      attempts,
      groupOf,
      root: groupOf,
      key: null,
    });
  }
  const text = JSON.stringify(body);
  ctx.res.writeHead(200, {
    'x-request-id': ctx.requestId,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  ctx.res.end(text);
  finishRecord(deps, record, ctx, {
    statusCode: 200,
    error: null,
    attempts,
    groupOf,
    root: groupOf,
    key: first?.key ?? null,
  });
}

/** Asks one group (an aggregate: one of its members) for its list, once; its attempt goes to `attempts`. */
async function listOf(
  ctx: ForwardContext,
  deps: ForwardDeps,
  group: GroupRuntime,
  format: ModelListFormat,
  attempts: Attempt[],
): Promise<GroupList> {
  const planner = new AttemptPlanner(tiersOf(group, null), deps.keyPool, deps.health, modeOf(group));
  // Model lists name no model: no key pacing applies, so the step is always synchronous.
  const next = planner.next();
  const step = next instanceof Promise ? await next : next;
  if (step.kind !== 'send') return { list: null, served: null };
  const member = step.candidate.group;
  const t0 = performance.now();
  const { origin, basePath } = step.upstream;
  const result = await sendAttempt(
    ctx,
    { body: null, path: ctx.path },
    false,
    member,
    step.key,
    origin,
    basePath,
    deps.clients,
  );
  if (result.kind === 'presend') {
    planner.presend(member, result.problem);
    return { list: null, served: null };
  }
  attempts.push(recordAttempt(deps, ctx, step, result, t0).attempt);
  const served = { group: member, key: step.key };
  if (result.kind !== 'response') return { list: null, served };
  const { response } = result;
  if (result.errorBody !== null || response.statusCode >= 300) {
    response.body.destroy();
    return { list: null, served };
  }
  try {
    const raw = Buffer.from(await response.body.arrayBuffer());
    const decoded = await decodeBody(raw, headerString(response.headers['content-encoding']));
    const parsed: unknown = JSON.parse(decoded.toString('utf8'));
    const list = format.rewrite(parsed, {
      redirects: member.modelRedirects ?? {},
      strict: member.modelRedirectStrict,
      firstPage: format.isFirstPage(ctx.query),
    });
    return { list, served };
  } catch {
    // A broken or foreign body: this group contributes nothing.
    return { list: null, served };
  }
}
