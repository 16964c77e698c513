import { Agent, buildConnector, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { egressJudge } from '@keyway/core';
import type { EgressPolicy } from '@keyway/core';
import { egressConnector, localAddresses, proxyDispatcher } from '@keyway/server';
import type { Resolve } from '@keyway/server';

/** What the validation client's egress policy depends on. */
export interface ValidationEgress {
  /** The `egressBlockPrivate` setting. */
  blockPrivate: boolean;
  /** The port this process serves `/proxy` on (standalone): validation requests there would loop back in. */
  selfPort?: number;
  /** DNS resolution (default `dns.lookup`); tests play a rebinding name with it. */
  resolve?: Resolve;
}

/** Longest a validation connection may take to open; the request's own deadline usually ends it sooner. */
const CONNECT_TIMEOUT_MS = 15_000;

const agents = new Map<string, Agent>();
/** Proxied dispatchers are per origin and proxy: at most this many are kept, the oldest closed first. */
const MAX_PROXIED = 256;
const proxied = new Map<string, Dispatcher>();
/** Connections per proxied dispatcher: a bulk validation sends at most `keyValidationConcurrency` at once. */
const PROXIED_CONNECTIONS = 16;
/** How long an idle connection through a proxy is kept for the next validation. */
const PROXIED_KEEP_ALIVE_MS = 10_000;

function judgeOf(egress: ValidationEgress) {
  const policy: EgressPolicy = {
    blockPrivate: egress.blockPrivate,
    ...(egress.selfPort ? { self: { port: egress.selfPort } } : {}),
  };
  return egressJudge(policy, localAddresses);
}

/**
 * The dispatcher validation requests go through: the same egress policy as the gateway's (addresses judged when
 * each connection opens; IP-address upstreams before it), so key validation never carries a key to a metadata
 * service, a private address the operator refused, or back into this process. One agent per policy, kept for the
 * life of the process; redirects are not followed.
 */
export function validationDispatcher(egress: ValidationEgress): Dispatcher {
  const id = `${egress.blockPrivate}|${egress.selfPort ?? ''}`;
  const cached = egress.resolve ? undefined : agents.get(id);
  if (cached) return cached;
  const judge = judgeOf(egress);
  const agent = new Agent({
    factory: (origin, options) =>
      new Pool(origin, {
        ...options,
        connect: egressConnector(buildConnector, new URL(String(origin)), {
          timeoutMs: CONNECT_TIMEOUT_MS,
          judge,
          ...(egress.resolve ? { resolve: egress.resolve } : {}),
        }),
      }),
  });
  if (!egress.resolve) agents.set(id, agent);
  return agent;
}

/**
 * The dispatcher validation requests to `origin` go through when the key leaves through `proxyUrl`: the gateway's
 * own proxied dispatcher (CONNECT or SOCKS5, the egress policy judging the proxy's address), so the provider sees a
 * key's validation come from the same address as its traffic. A proxy that fails makes the request fail with
 * `PROXY_FAILED_CODE`.
 */
export function proxiedValidationDispatcher(
  origin: string,
  proxyUrl: string,
  egress: ValidationEgress,
): Dispatcher {
  const id = `${egress.blockPrivate}|${egress.selfPort ?? ''}|${origin}|${proxyUrl}`;
  const cached = egress.resolve ? undefined : proxied.get(id);
  if (cached) return cached;
  const dispatcher = proxyDispatcher(origin, proxyUrl, {
    connections: PROXIED_CONNECTIONS,
    timeoutMs: CONNECT_TIMEOUT_MS,
    keepAliveMs: PROXIED_KEEP_ALIVE_MS,
    judge: judgeOf(egress),
    ...(egress.resolve ? { resolve: egress.resolve } : {}),
  });
  if (egress.resolve) return dispatcher;
  proxied.set(id, dispatcher);
  // Groups and proxies come and go: the oldest dispatcher is let go (its requests in flight finish first).
  for (const [old, d] of proxied) {
    if (proxied.size <= MAX_PROXIED) break;
    proxied.delete(old);
    void d.close().catch(() => {});
  }
  return dispatcher;
}
