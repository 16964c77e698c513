import type { KeyStateChange } from '@keyway/keypool';
import { createKeyCipher, RedisConfigStore } from '@keyway/keypool';
import type { RedisKeyPool } from '@keyway/keypool';
import type { Logger, Metrics } from '@keyway/observability';
import { createMetrics, createTracing, defaultProcessMetrics } from '@keyway/observability';
import { createAlertEmitter } from '@keyway/alerts';
import { BullJobQueue, JOBS } from '@keyway/queue';
import { RedisCounters } from '@keyway/limits';
import {
  busPrefixOf,
  connectBusInBackground,
  counterPrefixOf,
  connectRedis,
  mirrorKeyPool,
  queuePrefixOf,
} from '@keyway/server/infra';
import type { GatewayDeps } from './app';
import { ConfigFollower } from './config-follower';
import type { Env } from './env';
import { createGatewayMetrics } from './gateway-metrics';
import { createBufferedSink, createRowBatchSink, rowBatchJsonPieces } from './log-sink';
import { createUsageAggregator } from './usage-aggregator';
import { compileRuntime } from './runtime';
import type { GatewayRuntime } from './runtime';
import { redisProxyPenalties, trustedProxyMatcher } from '@keyway/server';
import { redisAffinityShare } from './affinity-share-redis';
import { createSessionAffinity } from './session-affinity';
import { createUpstreamClients, liveUpstreams } from './upstream-clients';
import { shareProxyHealth } from './proxy-health-share';

/** The running gateway's collaborators; `proxy` is set once the key pool and the first snapshot are loaded. */
export interface GatewayProcess {
  metrics: Metrics;
  /** Not-ready reasons for `/ready`: each `ok` once satisfied. */
  checks: Record<string, () => string>;
  /** The proxy's deps once it can route (null while starting). */
  proxy: () => GatewayDeps | null;
  /** Answer not-ready from now on (the load balancer stops sending traffic while in-flight requests finish). */
  beginShutdown: () => void;
  close: () => Promise<void>;
}

/** Log records per `request-logs` job, and key changes per `key-events` job. */
const JOB_BATCH = 500;
/**
 * The most characters of rows in one `request-logs` job (with {@link JOB_BATCH} rows of ~500 characters, the count
 * decides first). Every job costs the worker, Redis and PostgreSQL about the same whatever its size: with jobs of
 * ~100 rows against ~200 (two gateways of one build but for this, sharing a worker, loaded in alternate rounds),
 * Redis took 7.2 → 11.1 µs per request, PostgreSQL 19.4 → 22.0 and the worker ~22 → ~30.
 */
const JOB_ROW_CHARS = 400_000;
/** Bytes of a log batch's chunk: a batch of usual rows fits one. */
const JOB_CHUNK_BYTES = 512 * 1024;
/**
 * The distributed gateway's composition root. Starts serving at once (`/health`, `/ready`); the key pool (mirrored
 * from Redis) and the config snapshot load in the background and are retried until Redis answers, so a gateway
 * started before Redis becomes ready by itself. Afterwards a Redis or NATS outage leaves it serving from the
 * last snapshot and mirror; it catches up when they return.
 */
export function startGateway(env: Env, logger: Logger): GatewayProcess {
  const metrics = createMetrics({ secrets: logger.secrets });
  defaultProcessMetrics(metrics);
  const m = createGatewayMetrics(metrics);
  const keyCipher = createKeyCipher(env.ENCRYPTION_KEY);
  const redis = connectRedis(env.REDIS_URL, logger, 'keyway-gateway');
  // Sessions a replica serves are published to the others (best effort, never a round trip on the hot path).
  const affinity = createSessionAffinity({
    share: redisAffinityShare({
      redis,
      prefix: env.REDIS_PREFIX,
      onError: (err) =>
        logger.warn({ err }, 'session affinity: could not share a mapping; this replica keeps its own'),
    }),
  });
  const queue = new BullJobQueue({
    connection: env.REDIS_URL,
    prefix: queuePrefixOf(env.REDIS_PREFIX),
    logger,
  });
  // The listen port: an upstream pointing back at it would loop (egress policy).
  const clients = createUpstreamClients({ selfPort: env.PORT });
  // Proxy penalties go to Redis in the background, for the admin API to show every gateway's view of a proxy.
  const proxyHealthShare = shareProxyHealth(
    clients.proxyHealth,
    redisProxyPenalties({ redis, prefix: env.REDIS_PREFIX }),
    {
      onError: (err) => logger.warn({ err }, 'could not share a proxy penalty; the admin API shows it late'),
    },
  );
  // Access-key limits across replicas: slices claimed from Redis, never a round trip per request. The gateway
  // never reaches the database: seeding budgets into Redis from it is left to the processes that do.
  const counters = new RedisCounters({ redis, prefix: counterPrefixOf(env.REDIS_PREFIX), log: logger });

  // Request logs and this replica's key changes go to the worker in batches; while Redis is away they wait here.
  // Built from typed values: the worker validates them (once), the gateway does not spend CPU on it too. Logs go
  // as rows: a job's JSON is half as long as with whole records (~1.5 KB per request, most of what this process
  // moved to V8's old generation: a mark-compact every ~0.6 s under load). Each record's row is written into its
  // batch's bytes as it is pushed (createRowBatchSink), so nothing of it waits on V8's heap; a batch goes to Redis
  // as its job's JSON in pieces, the rows' bytes between a head and a tail (enqueueJson).
  const logSink = createRowBatchSink({
    maxRows: JOB_BATCH,
    maxChars: JOB_ROW_CHARS,
    // A batch in one chunk (~500 bytes a row): its job's JSON goes to Redis as three pieces.
    chunkBytes: JOB_CHUNK_BYTES,
    write: async (batch) => void (await queue.enqueueJson(JOBS.requestLogs, rowBatchJsonPieces(batch))),
    onError: (err, pending) => {
      m.logWriteFailed();
      logger.warn(
        { err, pending },
        'could not hand request logs to the queue; keeping them for the next try',
      );
    },
    onDrop: (count) => logger.error({ count }, 'request-log buffer full; dropped the oldest records'),
  });
  // Usage counters go as their own jobs whatever `requestLogging` says; a batch keeps its id across retries, so the
  // worker applies it once.
  const usageSink = createUsageAggregator({
    write: async (batch) => void (await queue.enqueue(JOBS.usageBatch, { batch }, { trusted: true })),
    onError: (err, pending) =>
      logger.warn(
        { err, pending },
        'could not hand usage counters to the queue; keeping them for the next try',
      ),
    onDrop: (count) => logger.error({ count }, 'usage buffer full; dropped the oldest batches'),
  });
  const keyEvents = createBufferedSink<KeyStateChange>({
    maxBatch: JOB_BATCH,
    write: async (changes) => void (await queue.enqueue(JOBS.keyEvents, { changes }, { trusted: true })),
    onError: (err, pending) => logger.warn({ err, pending }, 'could not queue key changes; retrying'),
    onDrop: (count) => logger.error({ count }, 'key-change buffer full; dropped the oldest'),
  });

  let stopping = false;
  let pool: RedisKeyPool | null = null;
  let runtime: GatewayRuntime | null = null;
  const store = new RedisConfigStore(redis, env.REDIS_PREFIX);
  const follower = new ConfigFollower({
    source: store,
    apply: (snapshot) => {
      runtime = compileRuntime(snapshot);
      // Pools of removed upstreams or changed connection settings close once their requests have finished.
      void clients.retain(liveUpstreams(runtime));
    },
    logger,
  });
  const bus = connectBusInBackground(
    { url: env.NATS_URL, prefix: busPrefixOf(env.REDIS_PREFIX), name: 'keyway-gateway', logger },
    (b) => {
      b.subscribe('config.changed', () => follower.check());
      // Anything announced while NATS was unreachable is picked up now rather than at the next poll.
      void follower.check();
    },
  );

  const booting = (async () => {
    pool = await mirrorKeyPool({
      redis,
      prefix: env.REDIS_PREFIX,
      codec: keyCipher,
      logger,
      stopped: () => stopping,
    });
    pool.onChange((c) => {
      m.keyChange(c.status, c.cause);
      if (c.status === 'invalid' && !c.remote)
        logger.warn({ keyId: c.keyId, groupId: c.groupId, cause: c.cause }, 'key blacklisted');
      if (!c.remote) keyEvents.push(c);
    });
    await follower.start();
  })().catch((err: unknown) => {
    if (!stopping) logger.error({ err }, 'gateway start-up failed');
  });

  const isTrustedProxy = trustedProxyMatcher(env.TRUSTED_PROXIES);
  const tracing = createTracing(env, 'keyway-gateway', (message) => logger.warn(message));
  let proxyDeps: GatewayDeps | null = null;
  return {
    metrics,
    checks: {
      keyPool: () => (pool ? 'ok' : 'loading'),
      config: () => (follower.ready ? 'ok' : 'no snapshot yet'),
      shutdown: () => (stopping ? 'stopping' : 'ok'),
    },
    proxy() {
      if (proxyDeps) return proxyDeps;
      if (!pool || !runtime) return null;
      proxyDeps = {
        runtime: () => runtime as GatewayRuntime,
        keyPool: pool,
        logSink,
        usageSink,
        clients,
        logger,
        metrics: m.gateway,
        counters,
        isTrustedProxy,
        affinity,
        tracing,
        // Queued fire-and-forget, one per subject per few seconds: the worker de-duplicates and delivers.
        alerts: createAlertEmitter({ send: (p) => queue.enqueue(JOBS.alert, p), logger }),
      };
      return proxyDeps;
    },
    beginShutdown() {
      stopping = true;
    },
    async close() {
      stopping = true;
      await follower.stop();
      await booting;
      await logSink
        .flush()
        .catch((err: unknown) => logger.error({ err }, 'final request-log hand-over failed'));
      await usageSink.flush().catch((err: unknown) => logger.error({ err }, 'final usage hand-over failed'));
      await pool?.close();
      await keyEvents
        .flush()
        .catch((err: unknown) => logger.error({ err }, 'final key-change hand-over failed'));
      await queue.close();
      await bus.close();
      await clients.close();
      await proxyHealthShare.close();
      // After the last requests finished: their usage is pushed before the connection goes.
      await counters.close();
      await affinity.close();
      // The spans of the last requests are exported before the process goes.
      await tracing.shutdown().catch((err: unknown) => logger.warn({ err }, 'final trace export failed'));
      redis.disconnect();
    },
  };
}
