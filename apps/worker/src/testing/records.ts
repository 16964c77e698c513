// Test-only: request-log records as a gateway sends them in `request-logs` jobs.
import type { RequestLogRecord } from '@keyway/contracts';

/** A successful request `n` seconds after 2026-03-10 11:00 UTC; `n` makes the id unique. */
export function logRecord(
  n: number,
  fields: Partial<RequestLogRecord> & Pick<RequestLogRecord, 'groupId'>,
): RequestLogRecord {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    requestId: `req-${n}`,
    time: new Date(Date.UTC(2026, 2, 10, 11, 0, n)).toISOString(),
    groupName: `group-${fields.groupId}`,
    parentGroupId: null,
    parentGroupName: null,
    keyId: null,
    keyMasked: null,
    proxyKeyMasked: null,
    model: 'gpt-4o',
    statusCode: 200,
    success: true,
    durationMs: 100,
    ttfbMs: 50,
    stream: false,
    retries: 0,
    attempts: [],
    error: null,
    clientIp: null,
    requestPath: null,
    promptTokens: 10,
    completionTokens: 20,
    requestBody: null,
    ...fields,
  };
}
