import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { EffectiveSettings } from '@keyway/contracts';

/** Gives out one keep-alive connection pool per upstream origin and connection settings. */
export interface UpstreamClients {
  get(origin: string, settings: EffectiveSettings): Dispatcher;
  close(): Promise<void>;
}

/** undici `Pool`s cached by origin + the settings that shape a connection. */
export function createUpstreamClients(): UpstreamClients {
  const pools = new Map<string, Pool>();
  return {
    get(origin, s) {
      const id = `${origin}|${s.maxConnsPerUpstream}|${s.connectTimeoutSeconds}|${s.idleConnTimeoutSeconds}`;
      let pool = pools.get(id);
      if (!pool) {
        pool = new Pool(origin, {
          connections: s.maxConnsPerUpstream,
          pipelining: 1,
          connect: { timeout: s.connectTimeoutSeconds * 1000 },
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
