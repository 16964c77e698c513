import { Agent, buildConnector, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { egressJudge } from '@keyway/core';
import type { EgressPolicy } from '@keyway/core';
import { egressConnector, localAddresses } from '@keyway/server';
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
  const policy: EgressPolicy = {
    blockPrivate: egress.blockPrivate,
    ...(egress.selfPort ? { self: { port: egress.selfPort } } : {}),
  };
  const judge = egressJudge(policy, localAddresses);
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
