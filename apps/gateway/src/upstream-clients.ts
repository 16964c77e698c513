import { buildConnector, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { EffectiveSettings } from '@keyway/contracts';
import { egressJudge } from '@keyway/core';
import type { EgressPolicy } from '@keyway/core';
import { egressConnector, localAddresses } from '@keyway/server';
import type { Resolve } from '@keyway/server';
import { proxyForKey } from '@keyway/contracts';
import { ProxyHealth, proxyDispatcher } from './egress-proxy';
import type { GatewayRuntime, GroupRuntime } from './runtime';

/** An upstream origin as one group reaches it: its connection settings and egress proxies shape the pool. */
export interface UpstreamUse {
  origin: string;
  settings: EffectiveSettings;
  /** The group's egress proxies ([] or absent: direct). */
  proxies?: readonly string[];
}

/** Gives out one keep-alive connection pool per upstream origin, connection settings and egress proxy. */
export interface UpstreamClients {
  /**
   * The dispatcher towards `origin`: through `proxy` when given (null = direct), else through the settings'
   * `proxyUrl` when set.
   */
  get(origin: string, settings: EffectiveSettings, proxy?: string | null): Dispatcher;
  /** The proxy `keyId` of `group` leaves through now (its pinned one unless penalised), or null for direct. */
  proxyFor(group: Pick<GroupRuntime, 'proxies'>, keyId: number): string | null;
  /** Proxies that failed, skipped for a short growing interval. */
  readonly proxyHealth: ProxyHealth;
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
    for (const u of g.upstreams.items)
      live.push({ origin: u.origin, settings: g.settings, proxies: g.proxies });
  return live;
}

/** The settings that shape a pool, with its origin and proxy: two uses with the same id share a pool. */
function poolId(origin: string, s: EffectiveSettings, proxy: string | null): string {
  return `${origin}|${s.maxConnsPerUpstream}|${s.connectTimeoutSeconds}|${s.idleConnTimeoutSeconds}|${s.egressBlockPrivate}|${proxy ?? ''}`;
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
  const pools = new Map<string, Dispatcher>();
  /**
   * The pools of direct calls by the group settings they were asked for with (one object per group and config
   * version): the hot path finds its pool without building the id string. Dropped whenever pools are let go.
   */
  let direct = new WeakMap<EffectiveSettings, Map<string, Dispatcher>>();
  const proxyHealth = new ProxyHealth();
  /** Pools let go of, until their last requests have finished. */
  const closing = new Set<Promise<void>>();

  /** undici's close() lets requests in flight (streams included) finish before the sockets go; never destroy(). */
  const letGo = (pool: Dispatcher): Promise<void> => {
    const done = pool.close().then(
      () => void closing.delete(done),
      () => void closing.delete(done),
    );
    closing.add(done);
    return done;
  };

  return {
    get(origin, s, proxy = s.proxyUrl) {
      const known = proxy === null ? direct.get(s)?.get(origin) : undefined;
      if (known) return known;
      const id = poolId(origin, s, proxy);
      let pool = pools.get(id);
      if (!pool) {
        const policy: EgressPolicy = {
          blockPrivate: s.egressBlockPrivate,
          ...(options.selfPort ? { self: { port: options.selfPort } } : {}),
        };
        const judge = egressJudge(policy, localAddresses);
        const resolve = options.resolve ? { resolve: options.resolve } : {};
        const timeoutMs = s.connectTimeoutSeconds * 1000;
        const keepAliveMs = s.idleConnTimeoutSeconds * 1000;
        pool = proxy
          ? proxyDispatcher(origin, proxy, {
              connections: s.maxConnsPerUpstream,
              timeoutMs,
              keepAliveMs,
              judge,
              ...resolve,
              onFailure: (error) => proxyHealth.noteFailure(proxy, error.message),
            })
          : new Pool(origin, {
              connections: s.maxConnsPerUpstream,
              pipelining: 1,
              connect: egressConnector(buildConnector, new URL(origin), { timeoutMs, judge, ...resolve }),
              keepAliveTimeout: keepAliveMs,
              keepAliveMaxTimeout: keepAliveMs,
            });
        pools.set(id, pool);
      }
      if (proxy === null) {
        let byOrigin = direct.get(s);
        if (!byOrigin) direct.set(s, (byOrigin = new Map<string, Dispatcher>()));
        byOrigin.set(origin, pool);
      }
      return pool;
    },
    proxyFor(group, keyId) {
      const { proxies } = group;
      if (proxies.length <= 1) return proxies[0] ?? null;
      return proxyForKey(proxies, keyId, (url) => proxyHealth.isPenalized(url));
    },
    proxyHealth,
    async retain(live) {
      const keep = new Set<string>();
      for (const u of live) {
        if (!u.proxies || u.proxies.length === 0) keep.add(poolId(u.origin, u.settings, null));
        for (const proxy of u.proxies ?? []) keep.add(poolId(u.origin, u.settings, proxy));
      }
      const gone: Promise<void>[] = [];
      direct = new WeakMap();
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
      direct = new WeakMap();
      await Promise.all([...all.map(letGo), ...closing]);
    },
  };
}
