import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { AlertSink } from '@keyway/alerts';
import type { LogPort } from '@keyway/core';
import type { KeyPool } from '@keyway/keypool';
import type { Clock, CounterLayer } from '@keyway/limits';
import type { Tracing } from '@keyway/observability';
import type { RequestLogRecord } from '@keyway/contracts';
import { Hono } from 'hono';
import type { SecretMasker, SessionAffinity } from './context';
import type { RequestLogSink } from './log-sink';
import { keyRoutePrefixes } from './key-routes';
import { createProxyHandler } from './proxy-handler';
import type { UsageSink } from './usage-aggregator';
import type { GatewayRuntime } from './runtime';
import type { UpstreamClients } from './upstream-clients';

/** Structured logger the gateway writes to (pino-compatible). */
export interface GatewayLogger extends LogPort {
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
  /** A finished request of an access key (by name, never the secret): its status, tokens and cost. */
  accessKeyRequest?(name: string, record: RequestLogRecord): void;
  /** An attempt answered 2xx without content under `retryOnEmpty` (class `empty`), by group. */
  emptyReply?(group: string): void;
}

/** Everything the gateway needs, built by a composition root (`deps.ts`). */
export interface GatewayDeps {
  runtime: () => GatewayRuntime;
  keyPool: KeyPool;
  logSink: RequestLogSink;
  /** Every finished record, for the usage counters (hourly stats, key use), whatever `requestLogging` says. */
  usageSink: UsageSink;
  clients: UpstreamClients;
  logger: GatewayLogger;
  metrics?: GatewayMetrics;
  /**
   * Access keys' request, token and cost windows: local and exact in standalone, Redis-reconciled slices across
   * replicas in distributed mode.
   */
  counters: CounterLayer;
  /** The clock access-key expiry and `x-ratelimit-reset-*` are read from (the counter layer's own). */
  clock?: Clock;
  /** Whether a peer address is a trusted reverse proxy (then X-Forwarded-For names the client). */
  isTrustedProxy?: (address: string) => boolean;
  /**
   * Session affinity: shared across replicas in distributed mode (Redis pub/sub, best effort); absent = this
   * process's own memory only (standalone). Used only by groups with affinity on.
   */
  affinity?: SessionAffinity;
  /** OpenTelemetry: spans per request and attempt (absent or off: none, at the cost of one check). */
  tracing?: Tracing;
  /**
   * Where the gateway reports `group.exhausted`, `group.storm` and `upstream.down`: an emitter that queues them
   * fire-and-forget, rate-limited per subject (never delivered from the request path). Absent: not reported.
   */
  alerts?: AlertSink;
}

/**
 * The data plane as a hono app: `ANY /proxy/{group}/…`. Needs a real node socket (it writes to the raw response).
 * Servers route `/proxy/` requests to {@link createProxyHandler}'s handler before hono (no Request or Context
 * built on the hot path); these routes serve what reaches hono anyway (absolute-form targets, tests on `fetch`).
 */
export function createApp(deps: GatewayDeps): Hono<{ Bindings: HttpBindings }> {
  return honoProxyApp(createProxyHandler(deps));
}

/** Hono routes for `/proxy/{group}/…` and the key-routed root paths that hand the raw request to `handle`. */
export function honoProxyApp(
  handle: (req: HttpBindings['incoming'], res: HttpBindings['outgoing']) => Promise<void>,
): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  const route = async (c: { env: HttpBindings }): Promise<Response> => {
    await handle(c.env.incoming, c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  };
  app.all('/proxy/:group', route);
  app.all('/proxy/:group/*', route);
  // The key-routed endpoints at the root (`/v1/…`, `/v1beta/…`): the handler tells them from `/proxy/` itself.
  for (const prefix of keyRoutePrefixes()) {
    app.all(prefix, route);
    app.all(`${prefix}/*`, route);
  }
  return app;
}
