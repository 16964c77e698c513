import type { RequestLogRecord } from '@keyway/contracts';
import { recordAccessKeyUsage } from './access-usage';
import type { GatewayDeps } from './app';

/**
 * Where every finished request's record goes, refused or served: metrics, and the request log when
 * `requestLogging` keeps it.
 */
export function createRecordHandler(deps: GatewayDeps): (record: RequestLogRecord) => void {
  return (record) => {
    deps.metrics?.request(record.parentGroupName ?? record.groupName, record.statusCode, record.durationMs);
    recordAccessKeyUsage(deps, record);
    const mode = deps.runtime().settings.requestLogging;
    if (mode === 'all' || (mode === 'errors' && !record.success)) deps.logSink.push(record);
  };
}
