import { buildConnector, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { EffectiveSettings } from '@keyway/contracts';
import { egressJudge } from '@keyway/core';
import type { EgressPolicy } from '@keyway/core';
import { egressConnector, localAddresses } from '@keyway/server';
import type { Resolve } from '@keyway/server';

/** Gives out one keep-alive connection pool per upstream origin and connection settings. */
export interface UpstreamClients {
  get(origin: string, settings: EffectiveSettings): Dispatcher;
  close(): Promise<void>;
}

/** Options of {@link createUpstreamClients}. */
export interface UpstreamClientsOptions {
  /** The port this gateway listens on: connections to it on this machine would loop back in, and are refused. */
  selfPort?: number;
  /** DNS resolution (default `dns.lookup`); tests play a rebinding name with it. */
  resolve?: Resolve;
}

/**
 * undici `Pool`s cached by origin + the settings that shape a connection. Every connection goes through the egress
 * policy: the addresses a name resolves to are judged when connecting (so a name that later resolves to a metadata
 * or, with `egressBlockPrivate`, a private address is refused), and IP-address origins are judged before
 * connecting. A refused connection fails with `code` `KW_EGRESS_REFUSED` before a byte is sent. Redirects are never
 * followed (undici pools do not follow them).
 */
export function createUpstreamClients(options: UpstreamClientsOptions = {}): UpstreamClients {
  const pools = new Map<string, Pool>();
  return {
    get(origin, s) {
      const id = `${origin}|${s.maxConnsPerUpstream}|${s.connectTimeoutSeconds}|${s.idleConnTimeoutSeconds}|${s.egressBlockPrivate}`;
      let pool = pools.get(id);
      if (!pool) {
        const policy: EgressPolicy = {
          blockPrivate: s.egressBlockPrivate,
          ...(options.selfPort ? { self: { port: options.selfPort } } : {}),
        };
        pool = new Pool(origin, {
          connections: s.maxConnsPerUpstream,
          pipelining: 1,
          connect: egressConnector(buildConnector, new URL(origin), {
            timeoutMs: s.connectTimeoutSeconds * 1000,
            judge: egressJudge(policy, localAddresses),
            ...(options.resolve ? { resolve: options.resolve } : {}),
          }),
          keepAliveTimeout: s.idleConnTimeoutSeconds * 1000,
          keepAliveMaxTimeout: s.idleConnTimeoutSeconds * 1000,
        });
        pools.set(id, pool);
      }
      return pool;
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.allSettled(all.map((p) => p.close()));
    },
  };
}
