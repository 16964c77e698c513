import { NatsBus } from '@keyway/bus';
import type { Bus } from '@keyway/bus';
import type { ValueCodec } from '@keyway/keypool';
import { RedisKeyPool } from '@keyway/keypool';
import type { Logger } from '@keyway/observability';
import { Redis } from 'ioredis';

/** `kw:` → `kw`: the NATS subject prefix that goes with a Redis key prefix (one setting names an installation). */
export function busPrefixOf(redisPrefix: string): string {
  const tokens = redisPrefix.split(/[:.]/).filter((t) => t !== '');
  return tokens.length > 0 ? tokens.join('.') : 'kw';
}

/** `kw:` → `kw:bull`: where the job queues live in Redis. */
export function queuePrefixOf(redisPrefix: string): string {
  return `${redisPrefix.endsWith(':') ? redisPrefix : `${redisPrefix}:`}bull`;
}

/** `kw:` → `kw:lim:`: where the access-key (and upstream-key pacing) counters live in Redis. */
export function counterPrefixOf(redisPrefix: string): string {
  return `${redisPrefix.endsWith(':') ? redisPrefix : `${redisPrefix}:`}lim:`;
}

/**
 * A command connection to Redis that fails fast while Redis is away (a couple of retries, then the command
 * rejects) instead of queueing without bound, and reconnects forever; state changes are logged once each.
 */
export function connectRedis(url: string, logger: Logger, name: string): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(100 * times, 1000),
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger.warn({ err: { message: err.message } }, 'redis: connection error, reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info({}, 'redis: reconnected');
    down = false;
  });
  return redis;
}

/** Runs `attempt` until it resolves, waiting `delayMs` between tries; logs the first failure and the recovery. */
export async function retryUntil<T>(
  what: string,
  attempt: () => Promise<T>,
  logger: Logger,
  options: { delayMs?: number; stopped?: () => boolean } = {},
): Promise<T> {
  const delayMs = options.delayMs ?? 1000;
  for (let tries = 1; ; tries++) {
    try {
      const value = await attempt();
      if (tries > 1) logger.info({ tries }, `${what}: succeeded after retrying`);
      return value;
    } catch (err) {
      if (options.stopped?.()) throw err;
      if (tries === 1) logger.warn({ err }, `${what}: failed; retrying every ${delayMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * Connects to NATS in the background: the app starts (and serves) without NATS, and `onConnected` runs once the
 * first connection is made (subscribe there). After that the client reconnects by itself.
 */
export function connectBusInBackground(
  options: { url: string; prefix: string; name: string; logger: Logger },
  onConnected: (bus: Bus) => void,
): { current: () => Bus | undefined; close: () => Promise<void> } {
  let bus: Bus | undefined;
  let closed = false;
  const connecting = retryUntil(
    'bus: connect to NATS',
    () =>
      NatsBus.connect({
        url: options.url,
        prefix: options.prefix,
        name: options.name,
        logger: options.logger,
      }),
    options.logger,
    { delayMs: 2000, stopped: () => closed },
  ).then(
    (b) => {
      if (closed) return b.close();
      bus = b;
      onConnected(b);
    },
    () => undefined,
  );
  return {
    current: () => bus,
    async close() {
      closed = true;
      await bus?.close();
      void connecting;
    },
  };
}

/**
 * Mirrors the shared key pool from Redis, retrying every second until Redis answers (an app starts before Redis
 * and becomes ready by itself); background write failures are logged and retried by the pool.
 */
export function mirrorKeyPool(options: {
  redis: Redis;
  prefix: string;
  codec: ValueCodec;
  logger: Logger;
  stopped: () => boolean;
}): Promise<RedisKeyPool> {
  const { logger } = options;
  return retryUntil(
    'key pool: mirror from Redis',
    () =>
      RedisKeyPool.create({
        redis: options.redis,
        prefix: options.prefix,
        codec: options.codec,
        onError: (err) => logger.warn({ err }, 'key pool: background Redis operation failed; retrying'),
      }),
    logger,
    { stopped: options.stopped },
  );
}
