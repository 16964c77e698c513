import type { RequestLogRecord } from '@keyway/contracts';
import { recordAccessKeyUsage } from './access-usage';
import type { GatewayDeps } from './app';
import { recordCost } from './usage-cost';

/**
 * Where every finished request's record goes, refused or served: metrics, the usage counters (always: hourly
 * stats, key use and budgets must not depend on `requestLogging`), and the request log when `requestLogging`
 * keeps it.
 */
export function createRecordHandler(deps: GatewayDeps): (record: RequestLogRecord) => void {
  return (record) => {
    // Priced once here, before anything reads the cost (access-key budgets, the usage counters, the log).
    record.costUsd ??= recordCost(deps.runtime(), record);
    deps.metrics?.request(record.parentGroupName ?? record.groupName, record.statusCode, record.durationMs);
    recordAccessKeyUsage(deps, record);
    deps.usageSink.push(record);
    const mode = deps.runtime().settings.requestLogging;
    if (mode === 'all' || (mode === 'errors' && !record.success)) deps.logSink.push(record);
  };
}
