import { buildSnapshot, checkEncryption, loadSettings, toPoolRecord } from '@keyway/control-plane';
import type { KeyTestResult } from '@keyway/control-plane';
import { AppError } from '@keyway/core';
import { JOBS, MemoryJobQueue } from '@keyway/queue';
import { blamesKey, createWorker, validateKey } from '@keyway/worker';
import type { KeyCipher } from '@keyway/control-plane';
import {
  applyMigrations,
  createPrismaClient,
  createSqliteLogWriter,
  writeKeyStates,
  writeRequestLogs,
} from '@keyway/db';
import type { DbConnection, KeyStateRow } from '@keyway/db';
import {
  compileRuntime,
  createBufferedSink,
  createUpstreamClients,
  trustedProxyMatcher,
} from '@keyway/gateway';
import type { GatewayMetrics, GatewayRuntime, RequestLogSink, UpstreamClients } from '@keyway/gateway';
import { createKeyCipher, MemoryKeyPool } from '@keyway/keypool';
import type { Logger, Metrics } from '@keyway/observability';
import { createMetrics, defaultProcessMetrics } from '@keyway/observability';
import type { Env } from './env';

/** Everything the standalone process runs on; built once by `buildDeps`, closed on shutdown. */
export interface StandaloneDeps {
  env: Env;
  authKey: string;
  logger: Logger;
  metrics: Metrics;
  gatewayMetrics: GatewayMetrics;
  db: DbConnection;
  keyPool: MemoryKeyPool;
  keyCipher: KeyCipher;
  clients: UpstreamClients;
  logSink: RequestLogSink & { pending(): number };
  runtime: () => GatewayRuntime;
  reloadConfig: () => Promise<void>;
  queue: MemoryJobQueue;
  testKey: (key: { groupId: number; keyId: number; value: string }) => Promise<KeyTestResult>;
  flushKeyStates: () => Promise<void>;
  isTrustedProxy: (address: string) => boolean;
  close: () => Promise<void>;
}

const KEY_LOAD_BATCH = 10_000;
const KEY_STATE_FLUSH_MS = 1000;

/** The composition root: migrates the database, loads keys into the in-memory pool, wires the adapters. */
export async function buildDeps(env: Env, authKey: string, logger: Logger): Promise<StandaloneDeps> {
  await applyMigrations(env.DATABASE_URL, { log: (msg) => logger.info({}, msg) });
  const db = createPrismaClient(env.DATABASE_URL);
  const prisma = db.prisma;
  // One cipher per process: deriving the key from ENCRYPTION_KEY takes ~150 ms on purpose (scrypt).
  const keyCipher = createKeyCipher(env.ENCRYPTION_KEY);
  // Refuses to start when ENCRYPTION_KEY does not match the data (see `pnpm keys:rotate-encryption`).
  await checkEncryption(prisma, keyCipher);
  const keyPool = new MemoryKeyPool();

  for (let cursor = 0; ;) {
    const rows = await prisma.apiKey.findMany({
      where: { id: { gt: cursor } },
      orderBy: { id: 'asc' },
      take: KEY_LOAD_BATCH,
    });
    if (rows.length === 0) break;
    const byGroup = new Map<number, ReturnType<typeof toPoolRecord>[]>();
    for (const r of rows) {
      const list = byGroup.get(r.groupId) ?? [];
      list.push(toPoolRecord(r, { keyCipher }));
      byGroup.set(r.groupId, list);
    }
    for (const [gid, list] of byGroup) await keyPool.add(gid, list);
    cursor = (rows[rows.length - 1] as { id: number }).id;
  }

  let version = 1;
  let snapshot = await buildSnapshot(prisma, version);
  let runtime = compileRuntime(snapshot);
  const reloadConfig = async () => {
    snapshot = await buildSnapshot(prisma, ++version);
    runtime = compileRuntime(snapshot);
  };

  // The worker's jobs run in this process on the in-memory queue (distributed mode moves them to BullMQ). Request
  // logs and key states are written straight to the database below, so their jobs are not needed here.
  const queue = new MemoryJobQueue();
  const workerDeps = {
    db: prisma,
    dbProvider: db.provider,
    keyPool,
    keyCipher,
    loadSettings: () => loadSettings(prisma),
    logger,
  };
  createWorker(
    { ...workerDeps, queue },
    { jobs: [JOBS.keyRecheck, JOBS.keyValidate, JOBS.keyImport, JOBS.logRetention] },
  );
  // Retention runs at start-up too, not only two hours later.
  void queue.enqueue(JOBS.logRetention, {});
  const testKey = async (key: { groupId: number; keyId: number; value: string }): Promise<KeyTestResult> => {
    const group = snapshot.groups.find((g) => g.id === key.groupId);
    if (!group) throw AppError.notFound('Group');
    const r = await validateKey(workerDeps, group, key.value);
    if (r.valid) keyPool.setStatus(key.groupId, key.keyId, 'active', 'validation');
    else if (blamesKey(r)) keyPool.setStatus(key.groupId, key.keyId, 'invalid', 'validation', r.error);
    return { valid: r.valid, statusCode: r.statusCode || null, durationMs: r.durationMs, error: r.error };
  };

  const metrics = createMetrics();
  defaultProcessMetrics(metrics);
  const requests = metrics.counter(
    'keyway_proxy_requests_total',
    'Proxied requests by group and status class',
    ['group', 'status'],
  );
  const duration = metrics.histogram(
    'keyway_proxy_request_duration_seconds',
    'Proxied request duration',
    ['group'],
    [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  );
  const inFlight = metrics.gauge('keyway_proxy_in_flight', 'Proxy requests being served', []);
  const keyChanges = metrics.counter(
    'keyway_key_state_changes_total',
    'Key health changes by new status and cause',
    ['status', 'cause'],
  );
  const logFailures = metrics.counter(
    'keyway_request_log_write_failures_total',
    'Failed request-log batch writes',
    [],
  );
  const gatewayMetrics: GatewayMetrics = {
    request(group, status, durationMs) {
      requests.inc({ group, status: `${Math.floor(status / 100)}xx` });
      duration.observe({ group }, durationMs / 1000);
    },
    inFlight: (v) => inFlight.set({}, v),
  };

  // Key health changes happen on the hot path in memory; the database copy follows in batches.
  const pendingStates = new Map<number, KeyStateRow>();
  keyPool.onChange((c) => {
    keyChanges.inc({ status: c.status, cause: c.cause });
    pendingStates.set(c.keyId, {
      keyId: c.keyId,
      status: c.status,
      failureCount: c.failureCount,
      cooldownUntil: c.cooldownUntil,
      lastError: c.lastError,
    });
    if (c.status === 'invalid')
      logger.warn({ keyId: c.keyId, groupId: c.groupId, cause: c.cause }, 'key blacklisted');
  });
  // Serialised, so a caller that awaits a flush also waits for one already under way.
  let stateWrites: Promise<void> = Promise.resolve();
  const flushStates = (): Promise<void> => {
    stateWrites = stateWrites.then(async () => {
      if (pendingStates.size === 0) return;
      const batch = [...pendingStates.values()];
      pendingStates.clear();
      try {
        await writeKeyStates(prisma, batch);
      } catch (err) {
        for (const s of batch) if (!pendingStates.has(s.keyId)) pendingStates.set(s.keyId, s);
        logger.warn({ err, pending: pendingStates.size }, 'could not persist key states; retrying');
      }
    });
    return stateWrites;
  };
  const stateTimer = setInterval(() => void flushStates(), KEY_STATE_FLUSH_MS);
  stateTimer.unref();

  // SQLite: prepared statements on a connection of their own (Prisma costs more CPU than the proxying it logs).
  const sqliteLogs = db.provider === 'sqlite' ? createSqliteLogWriter(env.DATABASE_URL) : null;
  const logSink = createBufferedSink({
    write: async (records) => {
      if (sqliteLogs) await sqliteLogs.write(records);
      else await writeRequestLogs(prisma, records);
    },
    onError: (err, pending) => {
      logFailures.inc();
      logger.warn({ err, pending }, 'could not write request logs; keeping them for the next try');
    },
    onDrop: (count) => logger.error({ count }, 'request-log buffer full; dropped the oldest records'),
  });

  const clients = createUpstreamClients();
  return {
    env,
    authKey,
    logger,
    metrics,
    gatewayMetrics,
    db,
    keyPool,
    keyCipher,
    clients,
    logSink,
    runtime: () => runtime,
    reloadConfig,
    queue,
    testKey,
    flushKeyStates: flushStates,
    isTrustedProxy: trustedProxyMatcher(env.TRUSTED_PROXIES),
    async close() {
      clearInterval(stateTimer);
      await queue.close();
      await logSink.flush().catch((err: unknown) => logger.error({ err }, 'final request-log flush failed'));
      await flushStates();
      sqliteLogs?.close();
      await clients.close();
      await keyPool.close();
      await db.close();
    },
  };
}
