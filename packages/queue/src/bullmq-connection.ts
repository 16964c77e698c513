import { createRequire } from 'node:module';
import type { LogPort } from '@keyway/core';
import type * as BullMQ from 'bullmq';
import type * as IORedis from 'ioredis';
import type { Redis, RedisOptions } from 'ioredis';

/** The classes of BullMQ this adapter uses. */
export type BullClasses = Pick<typeof BullMQ, 'Queue' | 'Worker' | 'UnrecoverableError'>;

/** Where BullMQ 6 keeps each class of {@link BullClasses}, under `bullmq/dist/cjs/classes/`. */
const CLASS_MODULES: Record<keyof BullClasses, string> = {
  Queue: 'queue',
  Worker: 'worker',
  UnrecoverableError: 'errors/unrecoverable-error',
};

/**
 * BullMQ's classes, each loaded on first use (a standalone process, whose queue is in memory, never loads BullMQ;
 * a gateway, which only adds jobs, never loads the Worker) from its own module. BullMQ's index also loads its
 * PostgreSQL backend and every other export: a process keeps every loaded module's source, and the Queue alone
 * leaves 1.4 MB less heap than the index (6.6 against 8.0 MB after loading, measured). Should a later BullMQ keep
 * a class elsewhere, the index serves it. CommonJS: `require` gives the instance an `import` would.
 */
export function loadBullmq(): BullClasses {
  return bullClasses;
}

/** `name` from its own module, or from the package's index when that module is not there (another layout). */
export function loadBullClass<K extends keyof BullClasses>(
  name: K,
  requireModule: (id: string) => unknown = load,
): BullClasses[K] {
  try {
    const found = (requireModule(`bullmq/dist/cjs/classes/${CLASS_MODULES[name]}`) as Partial<BullClasses>)[
      name
    ];
    if (typeof found === 'function') return found as BullClasses[K];
  } catch {
    // another layout: the index has it
  }
  return (requireModule('bullmq') as BullClasses)[name];
}

const loaded: Partial<BullClasses> = {};
const bullClasses: BullClasses = {
  get Queue() {
    return (loaded.Queue ??= loadBullClass('Queue'));
  },
  get Worker() {
    return (loaded.Worker ??= loadBullClass('Worker'));
  },
  get UnrecoverableError() {
    return (loaded.UnrecoverableError ??= loadBullClass('UnrecoverableError'));
  },
};

function loadIoredis(): typeof IORedis {
  return (ioredis ??= load('ioredis') as typeof IORedis);
}
const load = createRequire(import.meta.url);
let ioredis: typeof IORedis | undefined;

/** ioredis options with the reply shapes BullMQ's scripts expect (RESP2-style, ioredis' default). */
export type QueueRedisOptions = RedisOptions & { replyMapping?: 'legacy' };

/** Where the queues live: a `redis://` / `rediss://` URL or ioredis options. */
export type QueueRedisConnection = string | QueueRedisOptions;

/** Reports warnings and errors on the console when the caller gives no logger, so failures never go unseen. */
export const consoleQueueLogger: LogPort = {
  info: () => undefined,
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};

/**
 * Thrown when Redis is unreachable or does not answer in time. For `enqueue` it means the job was not added
 * (unless Redis took it just as the time ran out), so the caller may report a 503 and let the user retry.
 */
export class QueueUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueueUnavailableError';
  }
}

/**
 * Makes `client` remember the copies made of it (BullMQ makes one per Worker for its blocking connection) and
 * returns what drops them all: BullMQ's own close never finishes while Redis is unreachable, and a copy left
 * behind would try to reconnect forever.
 */
export function trackCopies(client: Redis): () => void {
  const copies: Redis[] = [];
  const duplicate = client.duplicate.bind(client);
  client.duplicate = ((override?: Partial<QueueRedisOptions>) => {
    const copy = duplicate(override);
    copies.push(copy);
    return copy;
  }) as typeof client.duplicate;
  return () => {
    for (const copy of copies.splice(0)) copy.disconnect();
  };
}

/**
 * An ioredis client for one side of the queue. The producer (enqueue, status, list, schedules) fails fast while
 * Redis is down instead of queueing commands until it is back; the consumer (Workers) must wait for Redis to
 * return, which BullMQ requires (`maxRetriesPerRequest: null`). Both reconnect by themselves.
 */
export function createRedisClient(
  connection: QueueRedisConnection,
  role: 'producer' | 'consumer',
  connectionName: string,
): Redis {
  const overrides: QueueRedisOptions =
    role === 'producer'
      ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectionName }
      : { maxRetriesPerRequest: null, connectionName };
  const { Redis: RedisClient } = loadIoredis();
  return typeof connection === 'string'
    ? new RedisClient(connection, overrides)
    : new RedisClient({ ...connection, ...overrides });
}

/**
 * Logs an error at most once per message and `quietMs`: during an outage every connection reports every
 * reconnect attempt, and one line per outage and cause is what an operator needs.
 */
export function errorReporter(logger: LogPort, quietMs = 30_000): (source: string, error: Error) => void {
  const lastLogged = new Map<string, number>();
  return (source, error) => {
    const now = Date.now();
    const last = lastLogged.get(error.message);
    if (last !== undefined && now - last < quietMs) return;
    if (lastLogged.size >= 100) lastLogged.clear();
    lastLogged.set(error.message, now);
    logger.error({ source, err: error }, 'job queue: Redis error');
  };
}

const CONNECTION_FAILURE =
  /Stream isn't writeable|Connection is closed|max retries per request|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND/i;

/** Whether `error` says the connection to Redis failed (rather than Redis refusing the command). */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    CONNECTION_FAILURE.test(error.message) || (typeof code === 'string' && CONNECTION_FAILURE.test(code))
  );
}

/** Settles with `work`, or rejects with `timeoutError()` once `ms` passed (`work` is left to finish alone). */
export async function withTimeout<T>(work: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(timeoutError()), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
