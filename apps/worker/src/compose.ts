import {
  assertMigrated,
  databaseCheck,
  createKeyStateWriter,
  createPgLogWriter,
  createPrismaClient,
  readSettings,
} from '@keyway/db';
import { createKeyCipher } from '@keyway/keypool';
import type { RedisKeyPool } from '@keyway/keypool';
import type { Logger, Metrics } from '@keyway/observability';
import { createMetrics, createTracing, defaultProcessMetrics } from '@keyway/observability';
import { BullJobQueue } from '@keyway/queue';
import { redisProxyPenalties } from '@keyway/server';
import { connectRedis, mirrorKeyPool, queuePrefixOf } from '@keyway/server/infra';
import { createWorker } from './app';
import type { Env } from './env';
import { traceJobs } from './tracing';

/** The running worker. */
export interface WorkerProcess {
  metrics: Metrics;
  checks: Record<string, () => string | Promise<string>>;
  beginShutdown: () => void;
  close: () => Promise<void>;
}

/**
 * The worker's composition root: the database, the key pool mirrored from Redis (imports and re-checks change it
 * for every gateway), and the BullMQ processors. Redis is waited for in the background; the processors start
 * once the pool is mirrored. The worker's own key changes (re-check, validation, tests) are persisted here;
 * gateways' arrive through `key-events`.
 */
export async function startWorker(env: Env, logger: Logger): Promise<WorkerProcess> {
  const db = createPrismaClient(env.DATABASE_URL);
  const prisma = db.prisma;
  await assertMigrated(db);
  const metrics = createMetrics({ secrets: logger.secrets });
  defaultProcessMetrics(metrics);
  const keyCipher = createKeyCipher(env.ENCRYPTION_KEY);
  const redis = connectRedis(env.REDIS_URL, logger, 'keyway-worker');
  const queue = new BullJobQueue({
    connection: env.REDIS_URL,
    prefix: queuePrefixOf(env.REDIS_PREFIX),
    logger,
  });
  const states = createKeyStateWriter(prisma, logger);
  const tracing = createTracing(env, 'keyway-worker', (message) => logger.warn(message));
  // PostgreSQL: the fast log writer (Prisma costs ~1 ms of CPU per record); other databases go through Prisma.
  const pgLogs = db.provider === 'postgresql' ? createPgLogWriter(env.DATABASE_URL) : null;

  let stopping = false;
  let pool: RedisKeyPool | null = null;
  const booting = (async () => {
    pool = await mirrorKeyPool({
      redis,
      prefix: env.REDIS_PREFIX,
      codec: keyCipher,
      logger,
      stopped: () => stopping,
    });
    pool.onChange((c) => {
      if (!c.remote) states.push(c);
    });
    createWorker(
      {
        db: prisma,
        dbProvider: db.provider,
        keyPool: pool,
        keyCipher,
        loadSettings: () =>
          readSettings(prisma, [
            'keyRecheckIntervalMinutes',
            'keyValidationConcurrency',
            'keyValidationTimeoutSeconds',
            'egressBlockPrivate',
            'proxyUrl',
          ]),
        logger,
        queue: traceJobs(queue, tracing),
        // A key whose pinned proxy a gateway penalised is validated through the proxy the gateway uses instead.
        proxyPenalties: redisProxyPenalties({ redis, prefix: env.REDIS_PREFIX }).read,
        ...(pgLogs ? { writeRequestLogs: (records) => pgLogs.write(records) } : {}),
      },
      { recheckEveryMs: env.RECHECK_EVERY_SECONDS * 1000, validateConcurrency: env.VALIDATE_CONCURRENCY },
    );
    logger.info({}, 'worker ready: processing jobs');
  })().catch((err: unknown) => {
    if (!stopping) logger.error({ err }, 'worker start-up failed');
  });

  return {
    metrics,
    checks: {
      redis: () => (pool ? 'ok' : 'connecting'),
      database: databaseCheck(db),
      shutdown: () => (stopping ? 'stopping' : 'ok'),
    },
    beginShutdown() {
      stopping = true;
    },
    async close() {
      stopping = true;
      await booting;
      // Finishes the running jobs (graceful shutdown), then writes what they changed.
      await queue.close();
      await pool?.close();
      await states.close();
      await pgLogs?.close();
      await tracing.shutdown().catch((err: unknown) => logger.warn({ err }, 'final trace export failed'));
      redis.disconnect();
      await db.close();
    },
  };
}
