// Optional part of an import (`--logs`): GPT-Load's request logs and hourly stats, streamed in batches after the
// groups and keys are in. Re-runnable: a log keeps its GPT-Load id (Keyway skips ids it has), a stats row is
// set (not added to) on its (hour, group) slot.
import type { RequestLogRecord } from '@keyway/contracts';
import { maskSecret } from '@keyway/core';
import type { DbClient } from '@keyway/db';
import { writeRequestLogs } from '@keyway/db';
import type { ApplyDeps, ImportProgress } from './apply';
import type { GptLoadRequestLog, GptLoadSnapshot } from './types';

const BATCH = 1000;

/** What the log part of an import did. */
export interface LogImportResult {
  logs: number;
  stats: number;
  warnings: string[];
}

/** Keyway key ids by (group id, keyed hash), for the groups logs can name. */
async function keyIdIndex(db: DbClient, groupIds: readonly number[]): Promise<Map<string, number>> {
  const index = new Map<string, number>();
  for (const groupId of groupIds) {
    const rows = await db.apiKey.findMany({ where: { groupId }, select: { id: true, keyHash: true } });
    for (const r of rows) index.set(`${groupId}:${r.keyHash}`, r.id);
  }
  return index;
}

function toRecord(
  log: GptLoadRequestLog,
  groupId: number,
  parentGroupId: number | null,
  keyId: number | null,
): RequestLogRecord {
  const key = log.keyValue ? maskSecret(log.keyValue) : null;
  const error = log.errorMessage || null;
  return {
    id: log.id,
    requestId: log.id,
    time: log.timestamp.toISOString(),
    groupId,
    groupName: log.groupName ?? '',
    parentGroupId,
    parentGroupName: parentGroupId === null ? null : log.parentGroupName,
    keyId,
    keyMasked: key,
    proxyKeyMasked: null,
    model: log.model || null,
    statusCode: log.statusCode,
    success: log.isSuccess,
    durationMs: Math.max(0, log.durationMs),
    ttfbMs: null,
    stream: log.isStream,
    retries: 0,
    attempts: [
      {
        keyId,
        key,
        upstreamUrl: log.upstreamAddr ?? '',
        statusCode: log.statusCode,
        class: log.isSuccess ? 'ok' : log.statusCode >= 500 ? 'upstream' : 'client',
        durationMs: Math.max(0, log.durationMs),
        error,
      },
    ],
    error,
    clientIp: log.sourceIp || null,
    requestPath: log.requestPath || null,
    promptTokens: null,
    completionTokens: null,
    cachedTokens: null,
    costUsd: null,
    accessKeyId: null,
    accessKeyName: null,
    translatedFrom: null,
    requestBody: log.requestBody || null,
  };
}

/** Imports request logs (final attempts) and hourly stats of the imported groups. */
export async function importLogs(
  deps: ApplyDeps,
  snapshot: Pick<GptLoadSnapshot, 'requestLogs' | 'hourlyStats' | 'counts'>,
  groupIds: ReadonlyMap<number, number>,
  onProgress?: (p: ImportProgress) => void | Promise<void>,
  /** GPT-Load ids of aggregate groups: GPT-Load counts their traffic again under them, Keyway does not. */
  aggregates: ReadonlySet<number> = new Set(),
): Promise<LogImportResult> {
  const keyIds = await keyIdIndex(deps.db, [...new Set(groupIds.values())]);
  let logs = 0;
  let retries = 0;
  let orphans = 0;
  let seen = 0;
  let batch: RequestLogRecord[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length > 0) logs += (await writeRequestLogs(deps.db, batch)).written;
    batch = [];
    await onProgress?.({ stage: 'logs', processed: seen, total: snapshot.counts.requestLogs });
  };
  for await (const log of snapshot.requestLogs()) {
    seen++;
    // GPT-Load logs every attempt; Keyway logs a request once, so only the final attempt is a request.
    if (log.requestType === 'retry') retries++;
    else {
      const groupId = groupIds.get(log.groupId);
      if (groupId === undefined) orphans++;
      else {
        const hash = log.keyValue ? deps.keyCipher.hash(log.keyValue) : null;
        const keyId = hash ? (keyIds.get(`${groupId}:${hash}`) ?? null) : null;
        const parent = log.parentGroupId === null ? null : (groupIds.get(log.parentGroupId) ?? null);
        batch.push(toRecord(log, groupId, parent, keyId));
      }
    }
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  const stats = await importStats(deps.db, snapshot, groupIds, aggregates, onProgress);
  const warnings: string[] = [];
  if (retries > 0)
    warnings.push(
      `${retries} request-log row(s) of retried attempts left out: Keyway logs each request once (its final attempt)`,
    );
  if (orphans + stats.orphans > 0)
    warnings.push(`${orphans + stats.orphans} log or stats row(s) of groups not imported left out`);
  return { logs, stats: stats.written, warnings };
}

async function importStats(
  db: DbClient,
  snapshot: Pick<GptLoadSnapshot, 'hourlyStats' | 'counts'>,
  groupIds: ReadonlyMap<number, number>,
  aggregates: ReadonlySet<number>,
  onProgress?: (p: ImportProgress) => void | Promise<void>,
): Promise<{ written: number; orphans: number }> {
  let written = 0;
  let orphans = 0;
  let seen = 0;
  for await (const s of snapshot.hourlyStats()) {
    seen++;
    // Keyway counts a request once, under the group that served it; GPT-Load adds a row for the aggregate too.
    if (aggregates.has(s.groupId)) continue;
    const groupId = groupIds.get(s.groupId);
    if (groupId === undefined) {
      orphans++;
      continue;
    }
    const requests = s.successCount + s.failureCount;
    // GPT-Load's stats have no model or access key: Keyway's "" / 0 slot of that hour and group.
    await db.hourlyStat.upsert({
      where: { time_groupId_model_accessKeyId: { time: s.time, groupId, model: '', accessKeyId: 0 } },
      create: { time: s.time, groupId, model: '', accessKeyId: 0, requests, failures: s.failureCount },
      update: { requests, failures: s.failureCount },
    });
    written++;
    if (seen % BATCH === 0)
      await onProgress?.({ stage: 'stats', processed: seen, total: snapshot.counts.hourlyStats });
  }
  return { written, orphans };
}
