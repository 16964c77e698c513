import { effectiveProxies, keyStatusSchema, maskProxyUrl, proxyForKey } from '@keyway/contracts';
import { proxyHealthListSchema } from '@keyway/contracts';
import type { ProxyHealthList } from '@keyway/contracts';
import { AppError } from '@keyway/core';
import { findGroupWithMembers, keyIdsWithStatus } from '@keyway/db';
import type { DbClient } from '@keyway/db';
import { Hono } from 'hono';
import type { CpEnv } from './context';
import { groupJson } from './group-view';
import { idParam } from './http';
import type { RouteDoc } from './route-doc';
import { loadSettings } from './settings-store';

/** How many of a group's keys each of its proxies carries (each key pinned as the gateways pin it). */
async function keysPerProxy(
  db: DbClient,
  groupId: number,
  proxies: readonly string[],
): Promise<Map<string, number>> {
  const counts = new Map(proxies.map((p) => [p, 0]));
  if (proxies.length === 0) return counts;
  for (const status of keyStatusSchema.options)
    for (const keyId of await keyIdsWithStatus(db, groupId, status)) {
      const proxy = proxyForKey(proxies, keyId);
      if (proxy !== null) counts.set(proxy, (counts.get(proxy) ?? 0) + 1);
    }
  return counts;
}

/**
 * `GET /:id/proxies` (the egress proxies a group's keys leave through, each with its health as the gateways see it
 * and how many keys it carries), mounted at `/api/groups`. A proxy is unhealthy while any gateway skips it after a
 * failure. URLs and errors are shown with the proxy credentials masked.
 */
export function groupProxyHealthRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();

  app.get('/:id/proxies', async (c) => {
    const id = idParam(c, 'id', 'Group');
    const { db, proxyPenalties } = c.var.deps;
    if (!proxyPenalties)
      throw new AppError('UNAVAILABLE', 'Proxy health is not available in this deployment');
    const group = await findGroupWithMembers(db, id);
    if (!group) throw AppError.notFound('Group');
    const { proxyPool, config } = groupJson(group);
    // A group override of null means direct (as the gateway reads it); only an absent one inherits the global.
    const proxyUrl = config.proxyUrl === undefined ? (await loadSettings(db)).proxyUrl : config.proxyUrl;
    const proxies = effectiveProxies(proxyPool, proxyUrl);
    const [penalties, keys] = await Promise.all([proxyPenalties(proxies), keysPerProxy(db, id, proxies)]);
    const body: ProxyHealthList = {
      items: proxies.map((proxy) => {
        const penalty = penalties.get(proxy);
        return {
          proxy: maskProxyUrl(proxy),
          healthy: penalty === undefined,
          penalizedUntil: penalty ? new Date(penalty.until).toISOString() : null,
          lastError: penalty?.error ?? null,
          keys: keys.get(proxy) ?? 0,
        };
      }),
    };
    return c.json(body);
  });

  return app;
}

/** The route's OpenAPI entry. */
export const groupProxyHealthRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/groups/{id}/proxies',
    summary:
      "The group's egress proxies (masked) with their health across gateways and how many keys each carries",
    status: 200,
    response: proxyHealthListSchema,
  },
];
