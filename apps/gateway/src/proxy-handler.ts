import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock } from '@keyway/limits';
import { providers } from '@keyway/providers';
import { admitAccessKey, authorizeAccessKey, createCallerResolver } from './access';
import type { GatewayDeps } from './app';
import { AuthFailureSampler } from './auth-failures';
import type { ForwardDeps } from './context';
import type { DataPlane } from './data-plane';
import { receiveBody, requestContext, requestIdOf } from './data-plane';
import { forward, healthView } from './forward';
import { extractProxyKey } from './headers';
import { createKeyRouteHandler, isKeyRouteTarget } from './key-routes';
import { createRecordHandler } from './record-sinks';
import { recordRefusal } from './request-record';
import { sendDialectError, tagRateLimits } from './respond';
import { StormGuard } from './storm-guard';
import { parseProxyTarget } from './target';
import { closeRequestTrace } from './tracing';
import { enterTranslated, speakCallerDialect, translatorOf } from './translate';
import { createSessionAffinity } from './session-affinity';
import { createKeyPacer } from './key-pacer';
import { UpstreamHealth } from './upstream-health';

/** `https://api.example.com` of an upstream URL. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an upstream';
  }
}

/** Handles one data-plane request (`/proxy/…` or key-routed) on the raw node request and response; never rejects. */
export type ProxyHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const openaiDialect = providers.openai;
/** The same configuration problem of a group is logged at most this often (every request hits it). */
const CONFIG_LOG_INTERVAL_MS = 60_000;

/**
 * Whether a request target is for the data plane (servers send these to the proxy handler before any router):
 * `/proxy/…`, and the key-routed endpoints at the root (`/v1/…`, `/v1beta/…`).
 */
export function isProxyTarget(url: string | undefined): boolean {
  return url !== undefined && (url.startsWith('/proxy/') || isKeyRouteTarget(url));
}

/**
 * The data plane: `ANY /proxy/{group}/…` on node's own request and response — no web Request, no router context.
 * Checks the target, the group, the concurrency limit and the proxy key, reads the body within the group's limit,
 * and forwards. Every request, refused or served, ends with one log record. Root paths (`/v1/…`, `/v1beta/…`) go
 * to the key-routed handler, which shares the concurrency count, health memory and accepted secrets.
 */
export function createProxyHandler(deps: GatewayDeps): ProxyHandler {
  let inFlight = 0;
  // Process-local health memory: outlives config reloads, shared by every request of this process.
  const groupName = (id: number): string => deps.runtime().groupsById.get(id)?.name ?? `#${id}`;
  const guard = new StormGuard((groupId, cls, openMs) => {
    const group = groupName(groupId);
    deps.alerts?.emit('group.storm', `group:${group}`, {
      group,
      message: `Storm guard opened for group '${group}': most recent attempts failed (${cls}) across several keys; requests answer 503 for ${Math.round(openMs / 1000)} s`,
      details: { failureClass: cls, openSeconds: Math.round(openMs / 1000) },
    });
  });
  const upstreamHealth = new UpstreamHealth((url, ms) => {
    // The origin only: an upstream URL's path or query may carry something an operator would not show.
    const origin = originOf(url);
    deps.alerts?.emit('upstream.down', `upstream:${origin}`, {
      message: `Upstream ${origin} has been unreachable or failing for ${Math.round(ms / 1000)} s`,
      details: { upstream: origin, failingSeconds: Math.round(ms / 1000) },
    });
  });
  const authFailures = new AuthFailureSampler((line) =>
    deps.logger.warn(line, 'proxy request refused: missing or wrong proxy key'),
  );
  const configLogged = new Map<string, number>();
  // Accepted secrets → their hash and mask; who they belong to is looked up in the current runtime every request.
  const callers = createCallerResolver();
  const clock = deps.clock ?? systemClock;
  // Upstream-key pacing shares the access keys' counter layer (ids `uk:` beside `ak:`).
  const pacing = createKeyPacer(deps.counters, deps.keyPool, clock);
  const admitDeps = { counters: deps.counters, clock };
  // Built once: nothing in it depends on the request (the runtime is read when a record is made).
  const forwardDeps: ForwardDeps = {
    keyPool: deps.keyPool,
    clients: deps.clients,
    guard,
    upstreamHealth,
    health: healthView(guard, upstreamHealth),
    pacing,
    onRecord: createRecordHandler({ ...deps, pacing }),
    onBrokenStream: (info) => deps.logger.warn(info, 'upstream broke a stream; client stream aborted'),
    onConfigProblem: (group, problem) => {
      const id = `${group}|${problem.field}`;
      const now = Date.now();
      if (now - (configLogged.get(id) ?? 0) < CONFIG_LOG_INTERVAL_MS) return;
      if (configLogged.size > 1000) configLogged.clear();
      configLogged.set(id, now);
      deps.logger.error(
        { group, field: problem.field, reason: problem.reason },
        'group configuration cannot be sent upstream; its requests answer 500 GATEWAY_CONFIG',
      );
    },
    ...(deps.logger.secrets ? { secrets: deps.logger.secrets } : {}),
    // Only groups with affinity on consult it; without a shared one, this process remembers sessions itself.
    affinity: deps.affinity ?? createSessionAffinity(),
    ...(deps.alerts ? { alerts: deps.alerts } : {}),
    ...(deps.tracing && (deps.tracing.enabled || deps.tracing.propagateUpstream)
      ? { tracing: deps.tracing }
      : {}),
  };

  const plane: DataPlane = {
    forwardDeps,
    callers,
    admitDeps,
    authFailures,
    ...(deps.isTrustedProxy ? { isTrustedProxy: deps.isTrustedProxy } : {}),
    enter(ctx) {
      const { res } = ctx;
      if (inFlight >= deps.runtime().settings.maxConcurrentRequests) {
        sendDialectError(
          res,
          ctx.group.provider,
          429,
          'OVERLOADED',
          'The gateway is at its concurrency limit; retry shortly',
          { 'retry-after': '1' },
        );
        recordRefusal(ctx, forwardDeps, 429, 'gateway at its concurrency limit');
        return false;
      }
      inFlight++;
      deps.metrics?.inFlight(inFlight);
      // The request's one close listener: the phase in progress (attempt, relay) says what an early close means.
      res.on('close', () => {
        inFlight--;
        deps.metrics?.inFlight(inFlight);
        const hook = ctx.closeHook;
        ctx.closeHook = null;
        if (hook && !res.writableFinished) hook();
        if (ctx.trace) closeRequestTrace(ctx.trace, res.statusCode);
      });
      return true;
    },
    refuse(ctx, r) {
      sendDialectError(ctx.res, ctx.group.provider, r.status, r.code, r.message, r.headers);
      recordRefusal(ctx, forwardDeps, r.status, r.message);
    },
  };
  const keyRoutes = createKeyRouteHandler(deps, plane);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const startedAt = Date.now();
    const runtime = deps.runtime();
    // Parsed from the raw target: the upstream path is cut from the same string, byte for byte.
    const target = parseProxyTarget(req.url ?? '/', req.headers.host);
    const requestId = requestIdOf(req, res, startedAt);

    const group = target ? runtime.groups.get(target.group) : undefined;
    if (!target || !group) {
      // Group names are not secret, and an unknown group has no channel: OpenAI's dialect.
      const name = target?.group ?? rawGroupSegment(req.url ?? '');
      sendDialectError(res, openaiDialect, 404, 'NOT_FOUND', `Group '${name}' not found`);
      return;
    }
    // Format translation: one field check for native groups; the caller's dialect then speaks every error.
    const translator = group.translate && translatorOf(group, req.method ?? 'GET', target.path);
    if (translator) speakCallerDialect(res, translator.from);
    const ctx = requestContext(plane, req, res, group, target.path, { requestId, started, startedAt });
    if (!plane.enter(ctx)) return;

    if (target.invalid !== null) {
      // The request's own fault, found before any key was chosen: nothing is charged.
      const message = `Request target cannot be forwarded: ${target.invalid}`;
      sendDialectError(res, group.provider, 400, 'INVALID_REQUEST_TARGET', message);
      recordRefusal(ctx, forwardDeps, 400, message);
      return;
    }
    const { key: proxyKey, query } = extractProxyKey(req.headers, target.query);
    ctx.query = query;
    const caller = callers.resolve(runtime, proxyKey, group);
    if (!caller) {
      const message = proxyKey ? 'Invalid proxy key' : 'Missing proxy key';
      sendDialectError(res, group.provider, 401, 'UNAUTHORIZED', message);
      // Counted and sampled by client address; the presented key appears nowhere (not even masked).
      deps.metrics?.proxyAuthFailure?.(group.name);
      authFailures.fail(ctx.clientIp, group.name, proxyKey ? 'invalid' : 'missing');
      recordRefusal(ctx, forwardDeps, 401, message);
      return;
    }
    ctx.proxyKey = proxyKey as string;
    ctx.proxyKeyMasked = caller.masked;
    if (caller.kind === 'access') {
      ctx.accessKey = caller.key;
      // Before the body is read: a revoked key or a group out of scope does not get to upload anything.
      const refused = authorizeAccessKey(caller.key, group, clock.now());
      if (refused) return plane.refuse(ctx, refused);
    }

    if (!(await receiveBody(ctx, forwardDeps, group.maxBodyBytes, group.provider))) return;
    // From here on the request is the group's native one (model, limits, redirects, keys, usage, logging).
    if (translator && !enterTranslated(ctx, forwardDeps, translator)) return;
    const body = ctx.body;
    if (ctx.accessKey) {
      // The model the client named is known now; limits count only a request that goes on to be forwarded.
      const model = group.provider.extractModel({
        method: req.method ?? 'GET',
        path: ctx.path,
        query: ctx.query,
        headers: req.headers,
        body,
      });
      ctx.model = model;
      const pending = admitAccessKey(admitDeps, runtime, ctx.accessKey, group, {
        method: req.method ?? 'GET',
        model,
      });
      const verdict = pending instanceof Promise ? await pending : pending;
      if (!verdict.ok) return plane.refuse(ctx, verdict);
      tagRateLimits(res, verdict.headers);
    }
    await forward(ctx, forwardDeps);
  };

  return async (req, res) => {
    try {
      // `/proxy/` first: the hot path pays one string check.
      const url = req.url;
      await (url?.startsWith('/proxy/') || !isKeyRouteTarget(url) ? handle(req, res) : keyRoutes(req, res));
    } catch (error) {
      // A bug, not a request's fault: answer 500 (or cut a response already under way) and say so once.
      deps.logger.error(
        { err: error instanceof Error ? error.message : String(error) },
        'proxy handler failed',
      );
      if (res.headersSent) res.destroy();
      else sendDialectError(res, openaiDialect, 500, 'INTERNAL', 'Internal gateway error');
    }
  };
}

/** The group segment of a target that did not parse, as sent (for the 404 message only). */
function rawGroupSegment(url: string): string {
  const start = url.indexOf('/proxy/');
  if (start < 0) return '';
  const rest = url.slice(start + 7);
  const end = rest.search(/[/?]/);
  return end < 0 ? rest : rest.slice(0, end);
}
