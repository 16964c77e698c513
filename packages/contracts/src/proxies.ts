import { z } from 'zod';

/**
 * The egress proxies a group's keys leave through: its `proxyPool`, else its effective `proxyUrl` (the group's
 * override, else the global setting); [] = direct. What the gateway connects through, the worker validates keys
 * through and the admin API shows the health of.
 */
export function effectiveProxies(
  proxyPool: readonly string[] | null | undefined,
  proxyUrl: string | null | undefined,
): string[] {
  if (proxyPool && proxyPool.length > 0) return [...proxyPool];
  return proxyUrl ? [proxyUrl] : [];
}

/** One egress proxy of a group as `GET /api/groups/{id}/proxies` shows it. */
export const proxyHealthItemSchema = z.object({
  /** The proxy URL, credentials masked. */
  proxy: z.string(),
  /** False while some gateway is skipping it after a failure. */
  healthy: z.boolean(),
  /** When the longest penalty a gateway holds ends (ISO 8601); null when healthy. */
  penalizedUntil: z.string().nullable(),
  /** Why it was penalised (proxy credentials masked); null when healthy. */
  lastError: z.string().nullable(),
  /** How many of the group's keys are pinned to it. */
  keys: z.number().int().nonnegative(),
});
export type ProxyHealthItem = z.infer<typeof proxyHealthItemSchema>;

/** `GET /api/groups/{id}/proxies` answer. */
export const proxyHealthListSchema = z.object({ items: z.array(proxyHealthItemSchema) });
export type ProxyHealthList = z.infer<typeof proxyHealthListSchema>;

/** A penalty one gateway holds on a proxy, as gateways share them with the control plane. */
export interface ProxyPenalty {
  /** Epoch milliseconds the penalty ends. */
  until: number;
  /** Why (proxy credentials masked). */
  error: string | null;
}
