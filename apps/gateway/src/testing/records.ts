// Test-only: request-log records for the gateway's tests.
import type { RequestLogRecord } from '@keyway/contracts';

/**
 * A successful request of group 1 with key 11, `n` minutes after 2026-11-26 07:10 UTC (100 prompt tokens, 40 of them
 * cached, 20 completion tokens, $0.25); `n` makes its id and request id unique, `over` overrides any field.
 */
export function record(n: number, over: Partial<RequestLogRecord> = {}): RequestLogRecord {
  return {
    id: `id-${n}`,
    requestId: `req-${n}`,
    time: new Date(Date.UTC(2026, 10, 26, 7, 10 + n)).toISOString(),
    groupId: 1,
    groupName: 'g',
    parentGroupId: null,
    parentGroupName: null,
    keyId: 11,
    keyMasked: null,
    proxyKeyMasked: null,
    model: 'gpt-4o-mini',
    statusCode: 200,
    success: true,
    durationMs: 10,
    ttfbMs: null,
    stream: false,
    retries: 0,
    attempts: [],
    error: null,
    clientIp: null,
    requestPath: null,
    promptTokens: 100,
    completionTokens: 20,
    cachedTokens: 40,
    costUsd: 0.25,
    accessKeyId: null,
    accessKeyName: null,
    translatedFrom: null,
    requestBody: null,
    ...over,
  };
}
