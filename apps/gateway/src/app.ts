import { randomUUID } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { maskSecret } from '@keyway/core';
import type { KeyPool } from '@keyway/keypool';
import { hashProxyKey } from '@keyway/keypool';
import { providers } from '@keyway/providers';
import { lingeringClose } from '@keyway/server';
import { Hono } from 'hono';
import { readBody } from './body';
import { forward } from './forward';
import { extractProxyKey } from './headers';
import type { RequestLogSink } from './log-sink';
import { sendDialectError } from './respond';
import { StormGuard } from './storm-guard';
import { UpstreamHealth } from './upstream-health';
import type { GatewayRuntime } from './runtime';
import type { UpstreamClients } from './upstream-clients';

/** Structured logger the gateway writes to (pino-compatible). */
export interface GatewayLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Counters the gateway reports (wired to Prometheus by the app that hosts it). */
export interface GatewayMetrics {
  request(group: string, status: number, durationMs: number): void;
  inFlight(value: number): void;
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

/** The data plane: `ANY /proxy/{group}/…`. Needs a real node socket (it writes to the raw response). */
export function createApp(deps: GatewayDeps): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  let inFlight = 0;
  // Process-local health memory: outlives config reloads, shared by every request of this process.
  const guard = new StormGuard();
  const upstreamHealth = new UpstreamHealth();

  const handler = async (c: {
    env: HttpBindings;
    req: { param(name: 'group'): string };
  }): Promise<Response> => {
    const { incoming: req, outgoing: res } = c.env;
    const started = performance.now();
    const startedAt = Date.now();
    const runtime = deps.runtime();
    const name = c.req.param('group');
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', requestId);

    const group = runtime.groups.get(name);
    if (!group) {
      // Group names are not secret, and an unknown group has no channel: OpenAI's dialect.
      sendDialectError(res, openaiDialect, 404, 'NOT_FOUND', `Group '${name}' not found`);
      return RESPONSE_ALREADY_SENT;
    }
    if (inFlight >= runtime.settings.maxConcurrentRequests) {
      sendDialectError(
        res,
        group.provider,
        429,
        'OVERLOADED',
        'The gateway is at its concurrency limit; retry shortly',
        { 'retry-after': '1' },
      );
      return RESPONSE_ALREADY_SENT;
    }
    inFlight++;
    deps.metrics?.inFlight(inFlight);
    res.once('close', () => {
      inFlight--;
      deps.metrics?.inFlight(inFlight);
    });

    const url = req.url ?? '/';
    const rest = url.slice(7 + name.length); // after "/proxy/{name}"
    const q = rest.indexOf('?');
    const path = (q < 0 ? rest : rest.slice(0, q)) || '/';
    const { key: proxyKey, query } = extractProxyKey(req.headers, q < 0 ? '' : rest.slice(q + 1));
    const hash = proxyKey ? hashProxyKey(proxyKey) : null;
    if (!hash || !(group.proxyKeyHashes.has(hash) || runtime.proxyKeyHashes.has(hash))) {
      sendDialectError(
        res,
        group.provider,
        401,
        'UNAUTHORIZED',
        proxyKey ? 'Invalid proxy key' : 'Missing proxy key',
      );
      return RESPONSE_ALREADY_SENT;
    }

    const body = await readBody(req, group.maxBodyBytes).catch(() => null);
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
    const peer = req.socket.remoteAddress ?? '';
    const trusted = deps.isTrustedProxy?.(peer) ?? false;
    const forwardedFor = trusted
      ? clientFromForwarded(req.headers['x-forwarded-for'], deps.isTrustedProxy)
      : '';
    await forward(
      {
        req,
        res,
        requestId,
        group,
        path,
        query,
        body,
        proxyKeyMasked: maskSecret(proxyKey as string),
        clientIp: forwardedFor || peer,
        keepForwarded: trusted,
        started,
        startedAt,
      },
      {
        keyPool: deps.keyPool,
        clients: deps.clients,
        guard,
        upstreamHealth,
        onRecord: (record) => {
          deps.metrics?.request(
            record.parentGroupName ?? record.groupName,
            record.statusCode,
            record.durationMs,
          );
          const mode = runtime.settings.requestLogging;
          if (mode === 'all' || (mode === 'errors' && !record.success)) deps.logSink.push(record);
        },
        onBrokenStream: (info) => deps.logger.warn(info, 'upstream broke a stream; client stream aborted'),
      },
    );
    return RESPONSE_ALREADY_SENT;
  };

  app.all('/proxy/:group', handler);
  app.all('/proxy/:group/*', handler);
  return app;
}

/**
 * The client address from X-Forwarded-For sent by a trusted proxy: the right-most entry that is not itself a
 * trusted proxy. Entries further left were written by the client and could be anything.
 */
function clientFromForwarded(
  header: string | string[] | undefined,
  isTrusted: GatewayDeps['isTrustedProxy'],
): string {
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i] as string;
    if (!isTrusted?.(entry)) return entry;
  }
  return entries[0] ?? '';
}
