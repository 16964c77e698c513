import type { RequestLogRecord } from '@keyway/contracts';
import { recordAccessKeyUsage } from './access-usage';
import type { GatewayDeps } from './app';
import type { KeyPacer } from './context';
import type { GatewayRuntime } from './runtime';
import { sentModel } from './runtime';
import { recordCost } from './usage-cost';

/**
 * Where every finished request's record goes, refused or served: metrics, the usage counters (always: hourly
 * stats, key use and budgets must not depend on `requestLogging`), the served upstream key's pacing windows, and
 * the request log when `requestLogging` keeps it.
 */
export function createRecordHandler(
  deps: GatewayDeps & { pacing?: KeyPacer },
): (record: RequestLogRecord) => void {
  return (record) => {
    // Priced once here, before anything reads the cost (access-key budgets, the usage counters, the log).
    record.costUsd ??= recordCost(deps.runtime(), record);
    const group = record.parentGroupName ?? record.groupName;
    deps.metrics?.request(group, record.statusCode, record.durationMs);
    const m = deps.metrics;
    if (m?.emptyReply) for (const a of record.attempts) if (a.class === 'empty') m.emptyReply(group);
    recordAccessKeyUsage(deps, record);
    if (deps.pacing) recordKeyPacing(deps.pacing, deps.runtime(), record);
    deps.usageSink.push(record);
    const mode = deps.runtime().settings.requestLogging;
    if (mode === 'all' || (mode === 'errors' && !record.success)) deps.logSink.push(record);
  };
}

/**
 * Adds a finished request's tokens (prompt + completion, as access keys count them) to the `tpm` windows of the
 * upstream key that served it, under the model sent upstream: the record names the group that served (a member
 * of an aggregate) and the model the client named, so the group's redirect is applied again here.
 */
export function recordKeyPacing(pacer: KeyPacer, runtime: GatewayRuntime, record: RequestLogRecord): void {
  if (record.keyId === null) return;
  const tokens = (record.promptTokens ?? 0) + (record.completionTokens ?? 0);
  if (tokens <= 0) return;
  const group = runtime.groupsById.get(record.groupId);
  if (group) pacer.record(group, record.keyId, sentModel(group, record.model), tokens);
}
