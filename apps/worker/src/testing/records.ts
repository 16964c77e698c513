// Test-only: request-log records as a gateway sends them in `request-logs` jobs.
import type { RequestLogRecord } from '@keyway/contracts';
import { requestLogRecord } from '@keyway/db/testing';

/** A successful request `n` seconds after 2026-03-10 11:00 UTC; `n` makes the id unique. */
export function logRecord(
  n: number,
  fields: Partial<RequestLogRecord> & Pick<RequestLogRecord, 'groupId'>,
): RequestLogRecord {
  return requestLogRecord(n, {
    time: new Date(Date.UTC(2026, 2, 10, 11, 0, n)).toISOString(),
    groupName: `group-${fields.groupId}`,
    promptTokens: 10,
    completionTokens: 20,
    ...fields,
  });
}
