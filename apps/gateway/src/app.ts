import { randomUUID } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { maskSecret } from '@keyway/core';
import type { KeyPool } from '@keyway/keypool';
import { hashProxyKey } from '@keyway/keypool';
import { providers } from '@keyway/providers';
import { clientAddress, lingeringClose } from '@keyway/server';
import { Hono } from 'hono';
import { AuthFailureSampler } from './auth-failures';
import { readBody } from './body';
import { forward, recordRefusal } from './forward';
import type { ForwardContext, ForwardDeps, SecretMasker } from './forward';
import { extractProxyKey } from './headers';
import type { RequestLogSink } from './log-sink';
import { sendDialectError } from './respond';
import { StormGuard } from './storm-guard';
import { parseProxyTarget } from './target';
import { UpstreamHealth } from './upstream-health';
import type { GatewayRuntime } from './runtime';
import type { UpstreamClients } from './upstream-clients';

/** Structured logger the gateway writes to (pino-compatible). */
export interface GatewayLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /**
   * The process's secret registry (observability's logger carries one): what it knows — AUTH_KEY, upstream keys —
   * is also masked in upstream error bodies relayed to clients and stored in request logs.
   */
  readonly secrets?: SecretMasker;
}

/** Counters the gateway reports (wired to Prometheus by the app that hosts it). */
export interface GatewayMetrics {
  request(group: string, status: number, durationMs: number): void;
  inFlight(value: number): void;
  /** A request refused for a missing or wrong proxy key. */
  proxyAuthFailure?(group: string): void;
}

/** Everything the gateway needs, built by a composition root (`deps.ts`). */
export interface GatewayDeps {
  runtime: () => GatewayRuntime;
  keyPool: KeyPool;
  logSink: RequestLogSink;
  clients: UpstreamClients;
  logger: GatewayLogger;
  metrics?: GatewayMetrics;
  /** Whether a peer address is a trusted reverse proxy (then X-Forwarded-For names the client). */
  isTrustedProxy?: (address: string) => boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const openaiDialect = providers.openai;
/** The same configuration problem of a group is logged at most this often (every request hits it). */
const CONFIG_LOG_INTERVAL_MS = 60_000;

/** The data plane: `ANY /proxy/{group}/…`. Needs a real node socket (it writes to the raw response). */
export function createApp(deps: GatewayDeps): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  let inFlight = 0;
  // Process-local health memory: outlives config reloads, shared by every request of this process.
  const guard = new StormGuard();
  const upstreamHealth = new UpstreamHealth();
  const authFailures = new AuthFailureSampler((line) =>
    deps.logger.warn(line, 'proxy request refused: missing or wrong proxy key'),
  );
  const configLogged = new Map<string, number>();
  // Built once: nothing in it depends on the request (the runtime is read when a record is made).
  const forwardDeps: ForwardDeps = {
    keyPool: deps.keyPool,
    clients: deps.clients,
    guard,
    upstreamHealth,
    onRecord: (record) => {
      deps.metrics?.request(record.parentGroupName ?? record.groupName, record.statusCode, record.durationMs);
      const mode = deps.runtime().settings.requestLogging;
      if (mode === 'all' || (mode === 'errors' && !record.success)) deps.logSink.push(record);
    },
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
  };

  const handler = async (c: {
    env: HttpBindings;
    req: { param(name: 'group'): string };
  }): Promise<Response> => {
    const { incoming: req, outgoing: res } = c.env;
    const started = performance.now();
    const startedAt = Date.now();
    const runtime = deps.runtime();
    // Parsed from the raw target, not the router's decoded view: the upstream path is cut from the same string.
    const target = parseProxyTarget(req.url ?? '/', req.headers.host);
    const name = target?.group ?? c.req.param('group');
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', requestId);

    const group = target ? runtime.groups.get(name) : undefined;
    if (!target || !group) {
      // Group names are not secret, and an unknown group has no channel: OpenAI's dialect.
      sendDialectError(res, openaiDialect, 404, 'NOT_FOUND', `Group '${name}' not found`);
      return RESPONSE_ALREADY_SENT;
    }
    const peer = req.socket.remoteAddress ?? '';
    const trusted = deps.isTrustedProxy?.(peer) ?? false;
    const ctx: ForwardContext = {
      req,
      res,
      requestId,
      group,
      path: target.path,
      query: '',
      body: null,
      proxyKey: '',
      proxyKeyMasked: null,
      clientIp: clientAddress(peer, req.headers['x-forwarded-for'], deps.isTrustedProxy),
      keepForwarded: trusted,
      started,
      startedAt,
    };
    if (inFlight >= runtime.settings.maxConcurrentRequests) {
      sendDialectError(
        res,
        group.provider,
        429,
        'OVERLOADED',
        'The gateway is at its concurrency limit; retry shortly',
        { 'retry-after': '1' },
      );
      recordRefusal(ctx, forwardDeps, 429, 'gateway at its concurrency limit');
      return RESPONSE_ALREADY_SENT;
    }
    inFlight++;
    deps.metrics?.inFlight(inFlight);
    res.once('close', () => {
      inFlight--;
      deps.metrics?.inFlight(inFlight);
    });

    if (target.invalid !== null) {
      // The request's own fault, found before any key was chosen: nothing is charged.
      const message = `Request target cannot be forwarded: ${target.invalid}`;
      sendDialectError(res, group.provider, 400, 'INVALID_REQUEST_TARGET', message);
      recordRefusal(ctx, forwardDeps, 400, message);
      return RESPONSE_ALREADY_SENT;
    }
    const { key: proxyKey, query } = extractProxyKey(req.headers, target.query);
    ctx.query = query;
    const hash = proxyKey ? hashProxyKey(proxyKey) : null;
    if (!hash || !(group.proxyKeyHashes.has(hash) || runtime.proxyKeyHashes.has(hash))) {
      const message = proxyKey ? 'Invalid proxy key' : 'Missing proxy key';
      sendDialectError(res, group.provider, 401, 'UNAUTHORIZED', message);
      // Counted and sampled by client address; the presented key appears nowhere (not even masked).
      deps.metrics?.proxyAuthFailure?.(group.name);
      authFailures.fail(ctx.clientIp, group.name, proxyKey ? 'invalid' : 'missing');
      recordRefusal(ctx, forwardDeps, 401, message);
      return RESPONSE_ALREADY_SENT;
    }
    ctx.proxyKey = proxyKey as string;
    ctx.proxyKeyMasked = maskSecret(ctx.proxyKey);

    const body = await readBody(req, group.maxBodyBytes);
    if (body === 'aborted') {
      // A broken-off upload is never forwarded as a complete (or empty) body; the client is gone.
      res.destroy();
      recordRefusal(ctx, forwardDeps, 499, 'client aborted the request body');
      return RESPONSE_ALREADY_SENT;
    }
    if (body === 'too-large') {
      // The client may still be uploading: answer without resetting it (SDKs retry resets, re-uploading).
      lingeringClose(req, res);
      sendDialectError(
        res,
        group.provider,
        413,
        'PAYLOAD_TOO_LARGE',
        `Request body exceeds ${group.settings.maxRequestBodyMb} MiB`,
        { connection: 'close' },
      );
      return RESPONSE_ALREADY_SENT;
    }
    ctx.body = body;
    await forward(ctx, forwardDeps);
    return RESPONSE_ALREADY_SENT;
  };

  app.all('/proxy/:group', handler);
  app.all('/proxy/:group/*', handler);
  return app;
}
