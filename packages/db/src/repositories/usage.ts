import type Database from 'better-sqlite3';
import type { UsageBatch, UsageBucket } from '@keyway/contracts';
import type { DbClient } from '../client';
import type { Provider } from '../provider';
import { Prisma } from '../generated/sqlite/client';
import { sqliteTime } from './sqlite-log-writer';

/** Runs of the transaction when it loses a race (see {@link applyUsageBatch}). */
const MAX_ATTEMPTS = 3;
/** Unique constraint violated (another writer applied the batch or created the hour first), conflict or deadlock. */
const RACE_CODES = new Set(['P2002', 'P2034']);
const LIMITS = { maxWait: 10_000, timeout: 30_000 };

/**
 * Buckets, upstream keys and access keys in one fixed order, so two writers updating the same rows at once
 * lock them in the same order and cannot deadlock.
 */
function ordered(batch: UsageBatch): UsageBatch {
  const buckets = [...batch.buckets].sort(
    (a, b) =>
      a.time.localeCompare(b.time) ||
      a.groupId - b.groupId ||
      a.accessKeyId - b.accessKeyId ||
      (a.model < b.model ? -1 : a.model > b.model ? 1 : 0),
  );
  return {
    id: batch.id,
    buckets,
    keys: [...batch.keys].sort((a, b) => a.id - b.id),
    accessKeys: [...batch.accessKeys].sort((a, b) => a.id - b.id),
  };
}

/**
 * Applies a gateway's usage batch through Prisma (PostgreSQL, MySQL; SQLite goes through its writer thread) in
 * one transaction: the batch id into `usage_batches`, the hourly stats, each upstream key's request count and
 * last use, each access key's lifetime totals and last use. Idempotent: a batch whose id is stored already is
 * skipped whole, so a queue job retried after its transaction committed (or run by two workers) counts once.
 * Returns whether this call applied it.
 */
export async function applyUsageBatch(
  db: DbClient,
  batch: UsageBatch,
  /** The database `db` talks to: PostgreSQL and MySQL count many keys in one statement (without it: two queries a key). */
  provider?: Provider,
): Promise<boolean> {
  const b = ordered(batch);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction((tx) => applyNew(tx, provider, b), LIMITS);
    } catch (err) {
      // A racing writer stored the same batch id (or the same new hour) first: the next run sees what it did.
      if (attempt >= MAX_ATTEMPTS || !isRace(err)) throw err;
    }
  }
}

function isRace(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && RACE_CODES.has(err.code);
}

async function applyNew(
  tx: Prisma.TransactionClient,
  provider: Provider | undefined,
  b: UsageBatch,
): Promise<boolean> {
  if (await tx.usageBatchApplied.findUnique({ where: { id: b.id }, select: { id: true } })) return false;
  // Inserted first: a second writer of the same batch waits on this row and then fails its insert (rolled back).
  await tx.usageBatchApplied.create({ data: { id: b.id, time: new Date() } });
  for (const u of b.buckets) {
    const time = new Date(u.time);
    await tx.hourlyStat.upsert({
      where: {
        time_groupId_model_accessKeyId: {
          time,
          groupId: u.groupId,
          model: u.model,
          accessKeyId: u.accessKeyId,
        },
      },
      create: { ...u, time },
      update: increments(u),
    });
  }
  if (provider === 'postgresql' || provider === 'mysql') {
    for (let i = 0; i < b.keys.length; i += KEYS_PER_STATEMENT) {
      const part = b.keys.slice(i, i + KEYS_PER_STATEMENT);
      // Rows locked in id order first, as the one-by-one updates did: a join updates them in whatever order its
      // plan takes, and two workers applying batches of the same keys could deadlock.
      await tx.$queryRawUnsafe(...lockKeys(provider, part));
      await tx.$executeRawUnsafe(...countKeys(provider, part));
    }
  } else await countKeysOneByOne(tx, b.keys);
  for (const a of b.accessKeys) {
    const last = new Date(a.last);
    await tx.accessKey.updateMany({
      where: { id: a.id },
      data: {
        totalRequests: { increment: a.requests },
        totalTokens: { increment: a.tokens },
        totalCostUsd: { increment: a.costUsd },
      },
    });
    await tx.accessKey.updateMany({
      where: { id: a.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: last } }] },
      data: { lastUsedAt: last },
    });
  }
  return true;
}

/**
 * Each upstream key's count and last use through Prisma, two queries a key: SQLite where no writer thread owns
 * the file (the writer's own statements are in prepareUsageApply), or a caller that did not name its database.
 */
async function countKeysOneByOne(tx: Prisma.TransactionClient, keys: UsageBatch['keys']): Promise<void> {
  for (const k of keys) {
    const last = new Date(k.last);
    // updateMany: the key may have been deleted since the request; that is not an error.
    await tx.apiKey.updateMany({ where: { id: k.id }, data: { requestCount: { increment: k.count } } });
    // Batches can land out of order: the last use only moves forward.
    await tx.apiKey.updateMany({
      where: { id: k.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: last } }] },
      data: { lastUsedAt: last },
    });
  }
}

/** Key rows per statement: 3 parameters each, far below PostgreSQL's and MySQL's parameter limits. */
const KEYS_PER_STATEMENT = 500;

/** Locks the rows of `keys` (sorted by id, see `ordered`) in id order (PostgreSQL, MySQL). */
function lockKeys(provider: 'postgresql' | 'mysql', keys: UsageBatch['keys']): [string, ...unknown[]] {
  const marks = keys.map((_, i) => (provider === 'postgresql' ? `$${i + 1}::integer` : '?'));
  const table = provider === 'postgresql' ? '"api_keys"' : '`api_keys`';
  return [
    `SELECT id FROM ${table} WHERE id IN (${marks.join(', ')}) ORDER BY id FOR UPDATE`,
    ...keys.map((k) => k.id),
  ];
}

/**
 * One statement adding the counts of many upstream keys (PostgreSQL, MySQL). A large pool's batch carries
 * thousands of keys (see the gateway's usage aggregator): two Prisma queries per key kept a worker busy for
 * seconds per batch. Deleted keys match no row; a last use only moves forward; `updatedAt` as Prisma sets it.
 */
function countKeys(provider: 'postgresql' | 'mysql', keys: UsageBatch['keys']): [string, ...unknown[]] {
  const now = new Date();
  const params: unknown[] = [];
  if (provider === 'postgresql') {
    const rows = keys.map((k) => {
      params.push(k.id, k.count, new Date(k.last));
      const n = params.length;
      return `($${n - 2}::integer, $${n - 1}::integer, $${n}::timestamp(3))`;
    });
    params.push(now);
    return [
      `UPDATE "api_keys" AS k SET "requestCount" = k."requestCount" + v.n,
        "lastUsedAt" = CASE WHEN k."lastUsedAt" IS NULL OR k."lastUsedAt" < v.last THEN v.last ELSE k."lastUsedAt" END,
        "updatedAt" = $${params.length}::timestamp(3)
        FROM (VALUES ${rows.join(', ')}) AS v(id, n, last) WHERE k.id = v.id`,
      ...params,
    ];
  }
  const rows = keys.map((k) => {
    params.push(k.id, k.count, new Date(k.last));
    return params.length === 3 ? 'SELECT ? AS id, ? AS n, ? AS last' : 'SELECT ?, ?, ?';
  });
  params.push(now);
  return [
    `UPDATE \`api_keys\` AS k JOIN (${rows.join(' UNION ALL ')}) AS v ON k.id = v.id
      SET k.\`requestCount\` = k.\`requestCount\` + v.n,
      k.\`lastUsedAt\` = CASE WHEN k.\`lastUsedAt\` IS NULL OR k.\`lastUsedAt\` < v.last THEN v.last ELSE k.\`lastUsedAt\` END,
      k.\`updatedAt\` = ?`,
    ...params,
  ];
}

function increments(u: UsageBucket) {
  return {
    requests: { increment: u.requests },
    failures: { increment: u.failures },
    promptTokens: { increment: u.promptTokens },
    completionTokens: { increment: u.completionTokens },
    cachedTokens: { increment: u.cachedTokens },
    costUsd: { increment: u.costUsd },
  };
}

const CLAIM_BATCH = `INSERT INTO usage_batches (id, time) VALUES (@id, @time) ON CONFLICT (id) DO NOTHING`;

const UPSERT_HOUR = `INSERT INTO hourly_stats (time, groupId, model, accessKeyId, requests, failures, promptTokens,
  completionTokens, cachedTokens, costUsd)
  VALUES (@time, @groupId, @model, @accessKeyId, @requests, @failures, @promptTokens, @completionTokens,
  @cachedTokens, @costUsd)
  ON CONFLICT (time, groupId, model, accessKeyId) DO UPDATE SET requests = requests + excluded.requests,
  failures = failures + excluded.failures, promptTokens = promptTokens + excluded.promptTokens,
  completionTokens = completionTokens + excluded.completionTokens,
  cachedTokens = cachedTokens + excluded.cachedTokens, costUsd = costUsd + excluded.costUsd`;

const COUNT_KEY = `UPDATE api_keys SET requestCount = requestCount + @count,
  lastUsedAt = CASE WHEN lastUsedAt IS NULL OR lastUsedAt < @last THEN @last ELSE lastUsedAt END, updatedAt = @now
  WHERE id = @id`;

const COUNT_ACCESS_KEY = `UPDATE access_keys SET totalRequests = totalRequests + @requests,
  totalTokens = totalTokens + @tokens, totalCostUsd = totalCostUsd + @costUsd,
  lastUsedAt = CASE WHEN lastUsedAt IS NULL OR lastUsedAt < @last THEN @last ELSE lastUsedAt END, updatedAt = @now
  WHERE id = @id`;

/**
 * Prepares {@link applyUsageBatch}'s statements on a better-sqlite3 connection; the function returned applies a
 * batch (true) or skips one applied before (false), to be called inside a transaction (the SQLite writer's
 * thread owns that). Times are stored the way Prisma stores them.
 */
export function prepareUsageApply(db: Database.Database): (batch: UsageBatch) => boolean {
  const claim = db.prepare(CLAIM_BATCH);
  const upsertHour = db.prepare(UPSERT_HOUR);
  const countKey = db.prepare(COUNT_KEY);
  const countAccessKey = db.prepare(COUNT_ACCESS_KEY);
  return (batch) => {
    const now = sqliteTime(Date.now());
    if (claim.run({ id: batch.id, time: now }).changes === 0) return false;
    for (const u of batch.buckets) upsertHour.run({ ...u, time: sqliteTime(Date.parse(u.time)) });
    for (const k of batch.keys)
      countKey.run({ id: k.id, count: k.count, last: sqliteTime(Date.parse(k.last)), now });
    for (const a of batch.accessKeys)
      countAccessKey.run({
        id: a.id,
        requests: a.requests,
        tokens: a.tokens,
        costUsd: a.costUsd,
        last: sqliteTime(Date.parse(a.last)),
        now,
      });
    return true;
  };
}
