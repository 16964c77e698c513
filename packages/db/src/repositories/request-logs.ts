import type { RequestLogRecord } from '@keyway/contracts';
import type { DbClient } from '../client';
import { Prisma } from '../generated/sqlite/client';

/** What a batch write did. */
export interface RequestLogWriteResult {
  /** Records stored by this call. */
  written: number;
  /** Records skipped: their id was already stored (a retried batch) or repeated within the batch. */
  duplicates: number;
}

/** Ids looked up per statement: far below every database's parameter limit. */
const ID_LOOKUP_CHUNK = 1000;
/** Runs of the transaction when it loses a race (see {@link writeRequestLogs}). */
const MAX_ATTEMPTS = 3;
/**
 * Prisma's defaults (2 s to get a connection, 5 s to finish) fail a large batch on a busy database, and a retry
 * would fail the same way; a failed transaction is rolled back whatever the limit, which only stops a stuck one.
 */
const LIMITS = { maxWait: 10_000, timeout: 60_000 };
/** Unique constraint violated (another writer stored the same record first), write conflict or deadlock. */
const RACE_CODES = new Set(['P2002', 'P2034']);

/**
 * Writes a batch of request records in one transaction. The counters (hourly stats, key use) do not come from
 * here: they arrive as usage batches (`applyUsageBatch`) whatever `requestLogging` keeps.
 *
 * Idempotent: records whose id is already stored are skipped, so a queue job retried after its transaction
 * committed (or run twice by two workers) does not duplicate rows. Two writers
 * racing on the same records both miss them at first; the loser's insert then violates the primary key, its
 * transaction rolls back, and the next attempt finds the rows and skips them.
 */
export async function writeRequestLogs(
  db: DbClient,
  records: readonly RequestLogRecord[],
): Promise<RequestLogWriteResult> {
  const byId = new Map<string, RequestLogRecord>();
  for (const r of records) if (!byId.has(r.id)) byId.set(r.id, r);
  const unique = [...byId.values()];
  for (let attempt = 1; ; attempt++) {
    try {
      const written = unique.length === 0 ? 0 : await db.$transaction((tx) => writeNew(tx, unique), LIMITS);
      return { written, duplicates: records.length - written };
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !isRace(err)) throw err;
    }
  }
}

function isRace(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && RACE_CODES.has(err.code);
}

/** Inserts the records not stored yet; returns how many that was. */
async function writeNew(tx: Prisma.TransactionClient, records: readonly RequestLogRecord[]): Promise<number> {
  const stored = new Set<string>();
  for (let i = 0; i < records.length; i += ID_LOOKUP_CHUNK) {
    const ids = records.slice(i, i + ID_LOOKUP_CHUNK).map((r) => r.id);
    const rows = await tx.requestLog.findMany({ where: { id: { in: ids } }, select: { id: true } });
    for (const row of rows) stored.add(row.id);
  }
  const fresh = stored.size === 0 ? records : records.filter((r) => !stored.has(r.id));
  if (fresh.length === 0) return 0;
  await tx.requestLog.createMany({ data: fresh.map(toRow) });
  return fresh.length;
}

function toRow(r: RequestLogRecord): Prisma.RequestLogCreateManyInput {
  return {
    id: r.id,
    requestId: r.requestId,
    time: new Date(r.time),
    groupId: r.groupId,
    groupName: r.groupName,
    parentGroupId: r.parentGroupId,
    parentGroupName: r.parentGroupName,
    keyId: r.keyId,
    keyMasked: r.keyMasked,
    proxyKeyMasked: r.proxyKeyMasked,
    model: r.model,
    statusCode: r.statusCode,
    success: r.success,
    durationMs: Math.round(r.durationMs),
    ttfbMs: r.ttfbMs === null ? null : Math.round(r.ttfbMs),
    stream: r.stream,
    retries: r.retries,
    attempts: r.attempts,
    error: r.error === null ? null : r.error.replaceAll('\u0000', ''),
    clientIp: r.clientIp,
    requestPath: r.requestPath,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    cachedTokens: r.cachedTokens,
    costUsd: r.costUsd,
    accessKeyId: r.accessKeyId,
    accessKeyName: r.accessKeyName,
    translatedFrom: r.translatedFrom ?? null,
    requestBody: r.requestBody,
  };
}
