import { createHash } from 'node:crypto';
import type { ProxyPenalty } from '@keyway/contracts';
import type { Redis } from 'ioredis';

/**
 * The Redis hash holding the gateways' penalties of one egress proxy: `{prefix}proxy-health:{hash}`, one field per
 * gateway. The name carries a hash of the URL, never the URL: proxy URLs may hold credentials.
 */
export function proxyHealthKey(prefix: string, proxyUrl: string): string {
  return `${prefix}proxy-health:${createHash('sha256').update(proxyUrl).digest('hex').slice(0, 32)}`;
}

/** Writes one gateway's penalty and stretches the hash's TTL to it (a shorter one never cuts another's). */
const WRITE_PENALTY = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
local want = tonumber(ARGV[3])
if ttl < want then redis.call('PEXPIRE', KEYS[1], want) end
return 1
`;

/** The gateways' proxy penalties as Redis shares them. */
export interface ProxyPenaltyStore {
  /** Records (or, with null, clears) the penalty `gatewayId` holds on `proxyUrl`. */
  write: (gatewayId: string, proxyUrl: string, penalty: ProxyPenalty | null) => Promise<void>;
  /** The longest penalty any gateway holds now on each of `proxyUrls` (a proxy absent is healthy). */
  read: (proxyUrls: readonly string[]) => Promise<Map<string, ProxyPenalty>>;
}

/** Proxy penalties in Redis hashes that expire with their longest penalty. */
export function redisProxyPenalties(o: {
  redis: Redis;
  prefix: string;
  now?: () => number;
}): ProxyPenaltyStore {
  const now = o.now ?? Date.now;
  return {
    write: async (gatewayId, proxyUrl, penalty) => {
      const key = proxyHealthKey(o.prefix, proxyUrl);
      if (penalty === null) {
        await o.redis.hdel(key, gatewayId);
        return;
      }
      const ttl = Math.max(1, penalty.until - now());
      await o.redis.eval(WRITE_PENALTY, 1, key, gatewayId, JSON.stringify(penalty), String(ttl));
    },
    read: async (proxyUrls) => {
      const out = new Map<string, ProxyPenalty>();
      if (proxyUrls.length === 0) return out;
      const pipeline = o.redis.pipeline();
      for (const url of proxyUrls) pipeline.hvals(proxyHealthKey(o.prefix, url));
      const replies = (await pipeline.exec()) ?? [];
      const at = now();
      proxyUrls.forEach((url, i) => {
        const [err, values] = replies[i] ?? [null, []];
        if (err) throw err;
        for (const value of values as string[]) {
          const p = parsePenalty(value);
          if (p && p.until > at && p.until > (out.get(url)?.until ?? 0)) out.set(url, p);
        }
      });
      return out;
    },
  };
}

/** A stored penalty, or null for a value this version cannot read (it is then ignored, not an error). */
function parsePenalty(value: string): ProxyPenalty | null {
  try {
    const v = JSON.parse(value) as { until?: unknown; error?: unknown };
    if (typeof v.until !== 'number') return null;
    return { until: v.until, error: typeof v.error === 'string' ? v.error : null };
  } catch {
    return null;
  }
}
