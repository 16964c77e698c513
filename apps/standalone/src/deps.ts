import { buildSnapshot, delegateKeyTest, loadPoolFromDb, loadSettings } from '@keyway/control-plane';
import type { KeyCipher, KeyTestResult } from '@keyway/control-plane';
import {
  applyMigrations,
  applyUsageBatch,
  createKeyStateWriter,
  createPgLogWriter,
  createPrismaClient,
  createSqliteWriter,
  readAccessKeyUsage,
  writeRequestLogs,
} from '@keyway/db';
import type { DbConnection, SqliteWriter, SqliteWriterThread } from '@keyway/db';
import {
  compileRuntime,
  createBufferedSink,
  createRowBatchSink,
  createUsageAggregator,
  createGatewayMetrics,
  createUpstreamClients,
  liveUpstreams,
  counterSeeder,
  trustedProxyMatcher,
} from '@keyway/gateway';
import type {
  BufferedSinkOptions,
  GatewayMetrics,
  GatewayRuntime,
  RequestLogSink,
  UpstreamClients,
  UsageSink,
} from '@keyway/gateway';
import type { AlertSink } from '@keyway/alerts';
import { createAlertEmitter } from '@keyway/alerts';
import { MemoryKeyPool } from '@keyway/keypool';
import { LocalCounters } from '@keyway/limits';
import type { Logger, Metrics } from '@keyway/observability';
import { createMetrics, createTracing, defaultProcessMetrics } from '@keyway/observability';
import type { Tracing } from '@keyway/observability';
import { JOBS, MemoryJobQueue } from '@keyway/queue';
import { alertBudgetCrossings, alertKeyChanges, createWorker, traceJobs } from '@keyway/worker';
import { prepareEncryption } from './encryption-key';
import type { Env } from './env';

/** Everything the standalone process runs on; built once by `buildDeps`, closed on shutdown. */
export interface StandaloneDeps {
  env: Env;
  authKey: string;
  logger: Logger;
  metrics: Metrics;
  gatewayMetrics: GatewayMetrics;
  db: DbConnection;
  /** The one SQLite writer (request logs, key imports, retention), when the database is SQLite. */
  sqliteWriter: SqliteWriter | undefined;
  keyPool: MemoryKeyPool;
  keyCipher: KeyCipher;
  clients: UpstreamClients;
  logSink: RequestLogSink & { pending(): number };
  /** The usage counters (hourly stats, key and access-key use), written whatever `requestLogging` says. */
  usageSink: UsageSink & { pending(): number };
  runtime: () => GatewayRuntime;
  /** Access keys' counters: exact and in memory (this process is the whole deployment), seeded from the database. */
  counters: LocalCounters;
  reloadConfig: () => Promise<void>;
  queue: MemoryJobQueue;
  testKey: (key: { groupId: number; keyId: number }) => Promise<KeyTestResult>;
  flushKeyStates: () => Promise<void>;
  isTrustedProxy: (address: string) => boolean;
  /** OpenTelemetry for the whole process: proxied requests, admin requests and jobs (a no-op when off). */
  tracing: Tracing;
  /** Where every part of the process reports alerts: `alert` jobs, delivered by the worker's handler in process. */
  alerts: AlertSink;
  close: () => Promise<void>;
}

/** What the request-log sink does when its writer fails, or its buffer overflows. */
type SinkHandlers = Pick<BufferedSinkOptions, 'onError' | 'onDrop'>;

/**
 * The request-log sink and a fast writer behind it (Prisma costs more CPU than the proxying it logs). With SQLite,
 * each record's row is written into its batch's bytes as it is pushed (createRowBatchSink), which go to the writer's
 * thread in chunks: a record, its attempts and its row text die young instead of being copied by V8's
 * young-generation collections while a batch fills.
 */
function requestLogs(
  db: DbConnection,
  url: string,
  sqlite: SqliteWriterThread | undefined,
  handlers: SinkHandlers,
): { sink: RequestLogSink & { pending(): number }; close: () => Promise<void> } {
  // The SQLite writer is closed with the process's other SQLite users, below.
  if (sqlite) {
    const sink = createRowBatchSink({ write: (batch) => sqlite.writeLogChunks(batch.chunks), ...handlers });
    return { sink, close: () => Promise.resolve() };
  }
  if (db.provider === 'postgresql') {
    const w = createPgLogWriter(url);
    const sink = createBufferedSink({ write: async (r) => void (await w.write(r)), ...handlers });
    return { sink, close: () => w.close() };
  }
  const sink = createBufferedSink({
    write: async (r) => void (await writeRequestLogs(db.prisma, r)),
    ...handlers,
  });
  return { sink, close: () => Promise.resolve() };
}

/** The composition root: migrates the database, loads keys into the in-memory pool, wires the adapters. */
export async function buildDeps(env: Env, authKey: string, logger: Logger): Promise<StandaloneDeps> {
  await applyMigrations(env.DATABASE_URL, { log: (msg) => logger.info({}, msg) });
  const db = createPrismaClient(env.DATABASE_URL);
  const prisma = db.prisma;
  // SQLite has one writer: request logs, key imports and retention share this one (see createSqliteWriter).
  const sqliteWriter = db.provider === 'sqlite' ? createSqliteWriter(env.DATABASE_URL) : undefined;
  // ENCRYPTION_KEY or the key kept in DATA_DIR (generated on first start); plaintext keys are encrypted in place.
  // Refuses to start when the key does not match the data (see `pnpm keys:rotate-encryption`).
  const { cipher: keyCipher } = await prepareEncryption(db, env, logger);
  const keyPool = new MemoryKeyPool();
  await loadPoolFromDb(prisma, keyPool, keyCipher);

  let version = 1;
  let runtime = compileRuntime(await buildSnapshot(prisma, version));
  // Day, month and total budgets continue from the database's figures, seeded before a runtime serves.
  const counters = new LocalCounters();
  const seedCounters = counterSeeder(counters, () => readAccessKeyUsage(prisma, new Date()));
  await seedCounters(runtime);
  const reloadConfig = async () => {
    const next = compileRuntime(await buildSnapshot(prisma, ++version));
    await seedCounters(next);
    runtime = next;
    // Pools of removed upstreams or changed connection settings close once their requests have finished.
    void clients.retain(liveUpstreams(runtime));
  };

  // The listen port: an upstream pointing back at it would loop (egress policy).
  const clients = createUpstreamClients({ selfPort: env.PORT });

  // The worker's jobs run in this process on the in-memory queue (distributed mode moves them to BullMQ). Request
  // logs and key states are written straight to the database below, so their jobs are not needed here.
  const queue = new MemoryJobQueue();
  const tracing = createTracing(env, 'keyway', (message) => logger.warn(message));
  // Producers (the gateway's request path included) only queue; the `alert` job de-duplicates and delivers.
  const alerts = createAlertEmitter({ send: (p) => queue.enqueue(JOBS.alert, p), logger });
  createWorker(
    {
      db: prisma,
      dbProvider: db.provider,
      keyPool,
      keyCipher,
      loadSettings: () => loadSettings(prisma),
      logger,
      queue: traceJobs(queue, tracing),
      sqliteWriter,
      selfPort: env.PORT,
      // Key checks skip a proxy this process's gateway is skipping, for the key's next one (as the gateway does).
      proxyPenalties: (urls) => Promise.resolve(clients.proxyHealth.penaltiesOf(urls)),
      alerts,
    },
    {
      jobs: [JOBS.keyRecheck, JOBS.keyValidate, JOBS.keyImport, JOBS.keyTest, JOBS.logRetention, JOBS.alert],
    },
  );
  // Retention runs at start-up too, not only two hours later.
  void queue.enqueue(JOBS.logRetention, {});

  const metrics = createMetrics({ secrets: logger.secrets });
  defaultProcessMetrics(metrics);
  const m = createGatewayMetrics(metrics);

  // Key health changes happen on the hot path in memory; the database copy follows in batches.
  const states = createKeyStateWriter(prisma, logger);
  keyPool.onChange((c) => {
    m.keyChange(c.status, c.cause);
    states.push(c);
    if (c.status === 'invalid') {
      logger.warn({ keyId: c.keyId, groupId: c.groupId, cause: c.cause }, 'key blacklisted');
      // What the worker's `key-events` job does in distributed mode (off the request path: a query, then a queue).
      void alertKeyChanges({ db: prisma, alerts, logger }, [c]);
    }
  });

  const logs = requestLogs(db, env.DATABASE_URL, sqliteWriter, {
    onError: (err, pending) => {
      m.logWriteFailed();
      logger.warn({ err, pending }, 'could not write request logs; keeping them for the next try');
    },
    onDrop: (count) => logger.error({ count }, 'request-log buffer full; dropped the oldest records'),
  });
  const logSink = logs.sink;

  // SQLite: in the writer's thread, one transaction per batch; other databases through Prisma (a batch a second).
  const usageSink = createUsageAggregator({
    write: async (batch) => {
      const applied = await (sqliteWriter
        ? sqliteWriter.applyUsage(batch)
        : applyUsageBatch(prisma, batch, db.provider));
      // Budget alerts, as the worker's `usage-batch` job raises them in distributed mode.
      if (applied) void alertBudgetCrossings({ db: prisma, alerts, logger }, batch);
    },
    onError: (err, pending) =>
      logger.warn({ err, pending }, 'could not write usage counters; keeping them for the next try'),
    onDrop: (count) => logger.error({ count }, 'usage buffer full; dropped the oldest batches'),
  });

  return {
    env,
    authKey,
    logger,
    metrics,
    gatewayMetrics: m.gateway,
    db,
    sqliteWriter,
    keyPool,
    keyCipher,
    clients,
    logSink,
    usageSink,
    runtime: () => runtime,
    counters,
    reloadConfig,
    queue,
    testKey: delegateKeyTest(queue),
    flushKeyStates: () => states.flush(),
    isTrustedProxy: trustedProxyMatcher(env.TRUSTED_PROXIES),
    tracing,
    alerts,
    async close() {
      await queue.close();
      await logSink.flush().catch((err: unknown) => logger.error({ err }, 'final request-log flush failed'));
      await usageSink.flush().catch((err: unknown) => logger.error({ err }, 'final usage flush failed'));
      await counters.close();
      await states.close();
      await logs.close();
      await sqliteWriter?.close();
      await clients.close();
      await keyPool.close();
      // Last: the spans of the final requests and jobs are exported.
      await tracing.shutdown().catch((err: unknown) => logger.warn({ err }, 'final trace export failed'));
      await db.close();
    },
  };
}
