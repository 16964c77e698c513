import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AffinityMapping, AffinityShare } from './session-affinity';

/** The pub/sub channel session mappings travel on: `{prefix}affinity`. */
export function affinityChannel(prefix: string): string {
  return `${prefix}affinity`;
}

export interface RedisAffinityShareOptions {
  /** The process's command connection: publishes go on it, the subscriber is its duplicate. */
  redis: Redis;
  /** The installation's Redis key prefix (`kw:`). */
  prefix: string;
  /** A publish or subscribe failed (logged by the caller; the next one tries again). */
  onError?: (err: unknown) => void;
}

/** The wire form: short names, one message per new or moved session. */
interface Wire {
  /** The publishing replica, so it skips its own messages. */
  o: string;
  g: number;
  s: string;
  k: number;
  t: number;
}

const MAX_SESSION_LENGTH = 64;
const MAX_TTL_MS = 7 * 86_400_000;

/**
 * Session mappings shared over Redis pub/sub. Fire and forget: a publish is sent only while the connection is
 * ready (an outage leaves each replica with its own mappings, and nothing queues up), and a replica learns what
 * is published while it is subscribed — one started later learns sessions as they are served. The subscriber is
 * a dedicated connection (`redis.duplicate()`: a subscribed connection can send nothing else) that reconnects by
 * itself and subscribes again each time it is ready.
 */
export function redisAffinityShare(options: RedisAffinityShareOptions): AffinityShare {
  const { redis } = options;
  const channel = affinityChannel(options.prefix);
  const origin = randomUUID();
  const onError = options.onError ?? (() => undefined);
  let subscriber: Redis | undefined;

  return {
    publish(m: AffinityMapping): void {
      if (redis.status !== 'ready') return;
      const wire: Wire = { o: origin, g: m.groupId, s: m.session, k: m.keyId, t: m.ttlMs };
      redis.publish(channel, JSON.stringify(wire)).catch(onError);
    },
    subscribe(onMapping: (mapping: AffinityMapping) => void): void {
      if (subscriber) throw new Error('redisAffinityShare: subscribe is called once');
      const name = redis.options.connectionName;
      const sub = redis.duplicate({
        autoResubscribe: false,
        ...(name ? { connectionName: `${name}:affinity` } : {}),
      });
      subscriber = sub;
      // Connection errors are the reconnect loop's business (and the command connection logs them already).
      sub.on('error', () => undefined);
      sub.on('ready', () => void sub.subscribe(channel).catch(onError));
      sub.on('message', (from: string, text: string) => {
        if (from !== channel) return;
        const m = parseWire(text);
        if (m && m.o !== origin) onMapping({ groupId: m.g, session: m.s, keyId: m.k, ttlMs: m.t });
      });
    },
    close(): Promise<void> {
      // Not `quit`: a subscriber has nothing to flush, and `quit` would wait on a connection that is down.
      subscriber?.disconnect();
      subscriber = undefined;
      return Promise.resolve();
    },
  };
}

/** A well-formed message, or null (anything else on the channel is ignored, never thrown). */
function parseWire(text: string): Wire | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const w = v as Partial<Wire>;
  const ok =
    typeof w.o === 'string' &&
    Number.isSafeInteger(w.g) &&
    typeof w.s === 'string' &&
    w.s.length > 0 &&
    w.s.length <= MAX_SESSION_LENGTH &&
    Number.isSafeInteger(w.k) &&
    typeof w.t === 'number' &&
    w.t > 0 &&
    w.t <= MAX_TTL_MS;
  return ok ? (w as Wire) : null;
}
