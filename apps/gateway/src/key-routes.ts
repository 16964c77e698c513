import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { providerForPath, providers, registeredProviders } from '@keyway/providers';
import type { Provider } from '@keyway/providers';
import { admitAccessKey, authorizeAccessKey } from './access';
import type { Caller } from './access';
import type { DataPlane } from './data-plane';
import { clientOf, receiveBody, requestContext, requestIdOf } from './data-plane';
import { forward } from './forward';
import { extractProxyKey } from './headers';
import { sendModelUnion } from './key-model-lists';
import { truncate } from './request-record';
import { sendDialectError, tagRateLimits } from './respond';
import type { GatewayRuntime, GroupRuntime } from './runtime';
import { parseRootTarget, targetPathStart } from './target';
import { translateCandidates, translatorOf, useCandidate } from './translate';

/**
 * Whether a request target is a key-routed endpoint: a path at the gateway root that some channel serves
 * (`/v1/…`, `/v1beta/…`, as the providers' `rootPaths` say), origin-form or absolute-form. `/proxy/…` is not.
 */
export function isKeyRouteTarget(url: string | undefined): boolean {
  if (url === undefined) return false;
  const start = targetPathStart(url);
  if (start < 0 || url.startsWith('/proxy/', start)) return false;
  const q = url.indexOf('?', start);
  return providerForPath(url.slice(start, q < 0 ? url.length : q)) !== null;
}

/** The first path segments the providers serve at the root (`/v1`, `/v1beta`): the routes a router sends here. */
export function keyRoutePrefixes(): string[] {
  const prefixes = new Set<string>();
  for (const p of registeredProviders())
    for (const root of p.rootPaths) prefixes.add(`/${root.split('/')[1] ?? ''}`);
  return [...prefixes].filter((p) => p !== '/');
}

/**
 * The key-routed endpoints: a provider path at the gateway root, where the caller's key chooses the group. The
 * path names the channel; the candidates are the caller's groups of that channel (an access key's in its order, a
 * group proxy key's own, a global proxy key's every group in display order) whose `models` globs match the model
 * the client named, or that define it as an alias (`servesModel`); the request is forwarded along them in order
 * (see `AttemptPlanner`'s `advance` mode), each expanding its own alias. Model lists answer the union of the
 * candidates' lists.
 */
export function createKeyRouteHandler(
  deps: { runtime: () => GatewayRuntime; metrics?: { proxyAuthFailure?(group: string): void } },
  plane: DataPlane,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const started = performance.now();
    const startedAt = Date.now();
    const runtime = deps.runtime();
    const requestId = requestIdOf(req, res, startedAt);
    const method = req.method ?? 'GET';
    const target = parseRootTarget(req.url ?? '/', req.headers.host);
    const provider = target ? channelOf(method, target.path, req.headers) : null;
    if (!target || !provider) {
      sendDialectError(res, providers.openai, 404, 'NOT_FOUND', 'No endpoint at this path');
      return;
    }
    if (target.invalid !== null) {
      // The request's own fault, found before its caller or any group was looked at.
      const message = `Request target cannot be forwarded: ${target.invalid}`;
      sendDialectError(res, provider, 400, 'INVALID_REQUEST_TARGET', message);
      return;
    }
    const { key: secret, query } = extractProxyKey(req.headers, target.query);
    const caller = plane.callers.resolve(runtime, secret);
    const client = clientOf(plane, req);
    if (!caller) {
      const message = secret ? 'Invalid proxy key' : 'Missing proxy key';
      sendDialectError(res, provider, 401, 'UNAUTHORIZED', message);
      // No group to log it under: counted and sampled under the channel, the presented key nowhere (not masked).
      const label = `(key-routed ${provider.id})`;
      deps.metrics?.proxyAuthFailure?.(label);
      plane.authFailures.fail(client.clientIp, label, secret ? 'invalid' : 'missing');
      return;
    }
    // A model list also gathers the groups of channels that list models in the same format at this path (the
    // openai-response groups' lists at `/v1/models`).
    const list = provider.modelList(method, target.path);
    const channel = groupsOf(runtime, caller).filter(
      (g) =>
        g.provider.id === provider.id ||
        (list !== null && g.provider.modelList(method, target.path) === list) ||
        // A group of another channel that translates this dialect (format translation).
        (g.translate !== null && translatorOf(g, method, target.path) !== null),
    );
    const first = channel[0];
    if (!first) {
      const message = `No ${provider.id} group is available to this key`;
      sendDialectError(res, provider, 404, 'NOT_FOUND', message);
      return;
    }
    const timing = { requestId, started, startedAt };
    const ctx = requestContext(plane, req, res, first, target.path, timing, client);
    ctx.query = query;
    ctx.proxyKey = secret as string;
    ctx.proxyKeyMasked = caller.masked;
    if (!plane.enter(ctx)) return;
    if (caller.kind === 'access') {
      ctx.accessKey = caller.key;
      const refused = authorizeAccessKey(caller.key, null, plane.admitDeps.clock.now());
      if (refused) return plane.refuse(ctx, refused);
    }

    if (list) {
      if (!(await admitted(runtime, plane, ctx, first, null))) return;
      return sendModelUnion(ctx, plane.forwardDeps, channel, provider, list);
    }
    const limit = Math.max(...channel.map((g) => g.maxBodyBytes));
    if (!(await receiveBody(ctx, plane.forwardDeps, limit, provider))) return;
    const model = provider.extractModel({
      method,
      path: ctx.path,
      query: ctx.query,
      headers: req.headers,
      body: ctx.body,
    });
    ctx.model = model;
    const matching = model === null ? channel : channel.filter((g) => g.servesModel(model));
    // Format translation: each translated candidate gets its channel's native request (or drops out).
    const candidates = translateCandidates(ctx, plane.forwardDeps, matching, method);
    if (!candidates) return;
    const chosen = candidates[0];
    if (!chosen) {
      // Echoed inside a JSON string (escaped) and cut short: a model name is the client's own text.
      const message = `No group available to this key serves model '${truncate(model ?? '', 200)}'`;
      sendDialectError(res, provider, 404, 'MODEL_NOT_FOUND', message);
      return;
    }
    ctx.group = chosen;
    useCandidate(ctx, chosen);
    if (!(await admitted(runtime, plane, ctx, chosen, model))) return;
    await forward(ctx, plane.forwardDeps, candidates);
  };
}

/** Admits an access key's request under its model list and limits (a bare proxy key always passes). */
async function admitted(
  runtime: GatewayRuntime,
  plane: DataPlane,
  ctx: Parameters<DataPlane['refuse']>[0],
  group: GroupRuntime,
  model: string | null,
): Promise<boolean> {
  if (!ctx.accessKey) return true;
  const verdict = await admitAccessKey(plane.admitDeps, runtime, ctx.accessKey, group, {
    method: ctx.req.method ?? 'GET',
    model,
  });
  if (!verdict.ok) {
    plane.refuse(ctx, verdict);
    return false;
  }
  tagRateLimits(ctx.res, verdict.headers);
  return true;
}

/** The groups a caller may reach by key: an access key's (its order), a group key's own, a global key's all. */
function groupsOf(runtime: GatewayRuntime, caller: Caller): readonly GroupRuntime[] {
  if (caller.kind === 'access') return caller.key.groups;
  return caller.group ? [caller.group] : runtime.groupList;
}

/**
 * The channel of a root request: the provider whose root path it falls under. A model list that several channels
 * serve at the same path (`GET /v1/models`) belongs to the channel whose own header the client sent (its
 * `rootHeaders`: Anthropic's SDKs send `anthropic-version`); otherwise to the path's channel.
 */
function channelOf(method: string, path: string, headers: IncomingHttpHeaders): Provider | null {
  const byPath = providerForPath(path);
  if (!byPath || !byPath.modelList(method, path)) return byPath;
  for (const p of registeredProviders()) {
    if (p === byPath || !p.rootHeaders || !p.modelList(method, path)) continue;
    if (p.rootHeaders.some((h) => headers[h] !== undefined)) return p;
  }
  return byPath;
}
