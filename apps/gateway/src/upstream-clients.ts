import { buildConnector, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { EffectiveSettings } from '@keyway/contracts';
import { egressJudge } from '@keyway/core';
import type { EgressPolicy } from '@keyway/core';
import { egressConnector, localAddresses } from '@keyway/server';
import type { Resolve } from '@keyway/server';
import type { GatewayRuntime } from './runtime';

/** An upstream origin as one group reaches it: its connection settings shape the pool. */
export interface UpstreamUse {
  origin: string;
  settings: EffectiveSettings;
}

/** Gives out one keep-alive connection pool per upstream origin and connection settings. */
export interface UpstreamClients {
  get(origin: string, settings: EffectiveSettings): Dispatcher;
  /**
   * Keeps the pools these uses need and closes every other one once its requests have finished: call it after
   * a config reload with `liveUpstreams(runtime)`, so pools of removed upstreams, or of connection settings that
   * changed, do not pile up. Resolves when the pools it let go are closed.
   */
  retain(live: Iterable<UpstreamUse>): Promise<void>;
  /** Pools open for new requests (those let go by `retain` and still finishing requests are not counted). */
  openPools(): number;
  close(): Promise<void>;
}

/** Options of {@link createUpstreamClients}. */
export interface UpstreamClientsOptions {
  /** The port this gateway listens on: connections to it on this machine would loop back in, and are refused. */
  selfPort?: number;
  /** DNS resolution (default `dns.lookup`); tests play a rebinding name with it. */
  resolve?: Resolve;
}

/** Every (origin, settings) a runtime's groups send requests with: what `UpstreamClients.retain` keeps. */
export function liveUpstreams(runtime: Pick<GatewayRuntime, 'groupsById'>): UpstreamUse[] {
  const live: UpstreamUse[] = [];
  // Aggregates send through their sub-groups, which are groups of the runtime too.
  for (const g of runtime.groupsById.values())
    for (const u of g.upstreams.items) live.push({ origin: u.origin, settings: g.settings });
  return live;
}

/** The settings that shape a pool, with its origin: two uses with the same id share a pool. */
function poolId(origin: string, s: EffectiveSettings): string {
  return `${origin}|${s.maxConnsPerUpstream}|${s.connectTimeoutSeconds}|${s.idleConnTimeoutSeconds}|${s.egressBlockPrivate}`;
}

/**
 * undici `Pool`s cached by origin + the settings that shape a connection. Every connection goes through the egress
 * policy: the addresses a name resolves to are judged when connecting (so a name that later resolves to a metadata
 * or, with `egressBlockPrivate`, a private address is refused), and IP-address origins are judged before
 * connecting. A refused connection fails with `code` `KW_EGRESS_REFUSED` before a byte is sent. Redirects are never
 * followed (undici pools do not follow them).
 *
 * Pools are not replaced when `get` sees new settings for an origin: two groups may reach the same origin with
 * different connection settings at once, and replacing would make them close each other's pools in turn. The
 * config reload says which uses are gone (`retain`).
 */
export function createUpstreamClients(options: UpstreamClientsOptions = {}): UpstreamClients {
  const pools = new Map<string, Pool>();
  /** Pools let go of, until their last requests have finished. */
  const closing = new Set<Promise<void>>();

  /** undici's close() lets requests in flight (streams included) finish before the sockets go; never destroy(). */
  const letGo = (pool: Pool): Promise<void> => {
    const done = pool.close().then(
      () => void closing.delete(done),
      () => void closing.delete(done),
    );
    closing.add(done);
    return done;
  };

  return {
    get(origin, s) {
      const id = poolId(origin, s);
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
    async retain(live) {
      const keep = new Set<string>();
      for (const u of live) keep.add(poolId(u.origin, u.settings));
      const gone: Promise<void>[] = [];
      for (const [id, pool] of pools) {
        if (keep.has(id)) continue;
        // Out of the map first: a request of the new config gets a fresh pool, never this closing one.
        pools.delete(id);
        gone.push(letGo(pool));
      }
      await Promise.all(gone);
    },
    openPools: () => pools.size,
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all([...all.map(letGo), ...closing]);
    },
  };
}
