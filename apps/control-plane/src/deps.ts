import { assertMigrated, databaseCheck, createKeyStateWriter, createPrismaClient } from '@keyway/db';
import type { DbConnection } from '@keyway/db';
import { createKeyCipher, RedisConfigStore } from '@keyway/keypool';
import type { RedisKeyPool } from '@keyway/keypool';
import type { Logger, Metrics } from '@keyway/observability';
import { createMetrics, createTracing, defaultProcessMetrics } from '@keyway/observability';
import { BullJobQueue } from '@keyway/queue';
import { RedisCounters } from '@keyway/limits';
import {
  busPrefixOf,
  connectBusInBackground,
  counterPrefixOf,
  connectRedis,
  mirrorKeyPool,
  queuePrefixOf,
} from '@keyway/server/infra';
import { redisProxyPenalties, trustedProxyMatcher } from '@keyway/server';
import type { ControlPlaneDeps } from './context';
import { checkEncryption } from './encryption';
import type { Env } from './env';
import { PoolKeeper } from './pool-keeper';
import { startBudgetSeeder } from './budget-seeder';
import type { BudgetSeeder } from './budget-seeder';
import { RedisSessionStore } from './session-store-redis';
import { delegateKeyTest } from './key-test-job';

/** The running control plane; `api()` is set once Redis answered and the pool is mirrored. */
export interface ControlPlaneProcess {
  metrics: Metrics;
  checks: Record<string, () => string | Promise<string>>;
  api: () => ControlPlaneDeps | null;
  beginShutdown: () => void;
  close: () => Promise<void>;
}

/**
 * The distributed control plane's composition root. The database is checked first (schema present, ENCRYPTION_KEY
 * matching the stored keys) and a failure stops the process; Redis and NATS are waited for in the background.
 */
export async function startControlPlane(env: Env, logger: Logger): Promise<ControlPlaneProcess> {
  const db: DbConnection = createPrismaClient(env.DATABASE_URL);
  const prisma = db.prisma;
  await assertMigrated(db);
  const keyCipher = createKeyCipher(env.ENCRYPTION_KEY);
  await checkEncryption(prisma, keyCipher);
  if (env.encryptionOff)
    logger.warn({}, 'ENCRYPTION_KEY=off: upstream keys are stored unencrypted in the database and in Redis');

  const metrics = createMetrics({ secrets: logger.secrets });
  defaultProcessMetrics(metrics);
  const tracing = createTracing(env, 'keyway-control-plane', (message) => logger.warn(message));
  const redis = connectRedis(env.REDIS_URL, logger, 'keyway-control-plane');
  const queue = new BullJobQueue({
    connection: env.REDIS_URL,
    prefix: queuePrefixOf(env.REDIS_PREFIX),
    logger,
  });
  const store = new RedisConfigStore(redis, env.REDIS_PREFIX);
  const bus = connectBusInBackground(
    { url: env.NATS_URL, prefix: busPrefixOf(env.REDIS_PREFIX), name: 'keyway-control-plane', logger },
    () => undefined,
  );
  const states = createKeyStateWriter(prisma, logger);
  // The gateways' shared access-key counters: read for `rpmNow`, and seeded from the database (budgets outlive
  // Redis). This process admits nothing, so its counters never claim or push anything.
  let seeder: BudgetSeeder | null = null;
  const counters = new RedisCounters({
    redis,
    prefix: counterPrefixOf(env.REDIS_PREFIX),
    log: logger,
    onReset: () => void seeder?.seedNow(),
  });
  seeder = startBudgetSeeder({ db: prisma, counters, logger });

  let stopping = false;
  let deps: ControlPlaneDeps | null = null;
  let keeper: PoolKeeper | null = null;
  let pool: RedisKeyPool | null = null;
  const booting = (async () => {
    pool = await mirrorKeyPool({
      redis,
      prefix: env.REDIS_PREFIX,
      codec: keyCipher,
      logger,
      stopped: () => stopping,
    });
    // Changes made here (operator, key tests) are persisted here; gateways' go through the key-events queue.
    pool.onChange((c) => {
      if (!c.remote) states.push(c);
    });
    const k = new PoolKeeper({
      db: prisma,
      redis,
      prefix: env.REDIS_PREFIX,
      pool,
      keyCipher,
      store,
      bus: bus.current,
      logger,
    });
    keeper = k;
    await k.start();
    deps = {
      db: prisma,
      dbProvider: db.provider,
      keyPool: pool,
      authKey: env.AUTH_KEY,
      keyCipher,
      logger,
      onConfigChanged: () => k.configChanged(),
      flushKeyStates: () => states.flush(),
      queue,
      testKey: delegateKeyTest(queue),
      secureCookies: env.SECURE_COOKIES,
      // In Redis so that a logout on one replica ends the session on all of them.
      sessionStore: new RedisSessionStore(redis, env.REDIS_PREFIX),
      isTrustedProxy: trustedProxyMatcher(env.TRUSTED_PROXIES),
      counters,
      // What the gateways share of their egress proxy penalties, for `GET /api/groups/{id}/proxies`.
      proxyPenalties: redisProxyPenalties({ redis, prefix: env.REDIS_PREFIX }).read,
      tracing,
    };
  })().catch((err: unknown) => {
    if (!stopping) logger.error({ err }, 'control plane start-up failed');
  });

  return {
    metrics,
    checks: {
      redis: () => (deps ? 'ok' : 'connecting'),
      database: databaseCheck(db),
      shutdown: () => (stopping ? 'stopping' : 'ok'),
    },
    api: () => deps,
    beginShutdown() {
      stopping = true;
    },
    async close() {
      stopping = true;
      await booting;
      await keeper?.stop();
      await seeder?.stop();
      await counters.close();
      await pool?.close();
      await states.close();
      await queue.close();
      await bus.close();
      await tracing.shutdown().catch((err: unknown) => logger.warn({ err }, 'final trace export failed'));
      redis.disconnect();
      await db.close();
    },
  };
}
