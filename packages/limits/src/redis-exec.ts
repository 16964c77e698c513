import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Redis call not made (connection lost) or not answered in time: the counters then admit on local figures. */
export class RedisUnavailableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * Client states after a lost connection. A command sent then would wait in ioredis's offline queue and run on
 * reconnect — after the counters had given up on it and re-sent its deltas: counted twice. So none is sent.
 */
const DISCONNECTED = new Set(['reconnecting', 'close', 'end']);

const shas = new Map<string, string>();

function sha1(script: string): string {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash('sha1').update(script).digest('hex');
    shas.set(script, sha);
  }
  return sha;
}

/**
 * EVALSHA with the script's locally computed SHA (no SCRIPT LOAD round trip), falling back to EVAL once when
 * Redis does not have it (first use, restart, SCRIPT FLUSH); rejects after `timeoutMs` whatever the client's
 * own retry policy (ioredis queues commands while reconnecting, which would stall the hot path). A command that
 * times out may still run later (it was in flight when the connection dropped): at most one sync's deltas.
 */
export function runScript(
  redis: Redis,
  script: string,
  keys: readonly string[],
  args: readonly (string | number)[],
  timeoutMs: number,
): Promise<unknown> {
  if (DISCONNECTED.has(redis.status)) {
    return Promise.reject(new RedisUnavailableError(`Redis connection is ${redis.status}`));
  }
  const call = async (): Promise<unknown> => {
    try {
      return await redis.evalsha(sha1(script), keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(script, keys.length, ...keys, ...args);
    }
  };
  return withTimeout(call(), timeoutMs);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(`Redis did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

/** A script reply as strings (Redis answers Lua strings as strings, numbers as integers). */
export function replyStrings(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((v: unknown) => (typeof v === 'string' ? v : String(v)));
}
