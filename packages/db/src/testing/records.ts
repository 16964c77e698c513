// Test-only: request-log records for the repository tests.
import type { RequestLogRecord, UsageBatch } from '@keyway/contracts';

/** Every field of a plain, successful request besides its identity, time and group: the base tests start from. */
const BASE: Omit<RequestLogRecord, 'id' | 'requestId' | 'time' | 'groupId' | 'groupName'> = {
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
  promptTokens: null,
  completionTokens: null,
  cachedTokens: null,
  costUsd: null,
  accessKeyId: null,
  accessKeyName: null,
  translatedFrom: null,
  requestBody: null,
};

/** A request-log record for tests in any package: `n` makes the id and request id unique; `fields` override. */
export function requestLogRecord(
  n: number,
  fields: Partial<RequestLogRecord> & Pick<RequestLogRecord, 'time' | 'groupId' | 'groupName'>,
): RequestLogRecord {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    requestId: `req-${n}`,
    ...BASE,
    ...fields,
  };
}

/** A successful request in group 1, `n` seconds after 2026-11-26 07:30; `n` makes id and request id unique. */
export function logRecord(n: number, over: Partial<RequestLogRecord> = {}): RequestLogRecord {
  return requestLogRecord(n, {
    time: new Date(Date.UTC(2026, 10, 26, 7, 30, n)).toISOString(),
    groupId: 1,
    groupName: 'g',
    keyMasked: 'sk-ab…1234',
    proxyKeyMasked: 'team…ey-1',
    model: 'gpt-x',
    durationMs: 12.4,
    ttfbMs: 3.2,
    attempts: [
      {
        keyId: null,
        key: 'sk-ab…1234',
        upstreamUrl: 'http://u',
        statusCode: 200,
        class: 'ok',
        durationMs: 10,
        error: null,
      },
    ],
    clientIp: '127.0.0.1',
    requestPath: '/v1/chat/completions',
    promptTokens: 5,
    completionTokens: 7,
    ...over,
  });
}

/** The latest use {@link usageBatch} reports. */
export const USAGE_LAST = '2026-11-26T07:30:09.000Z';

/**
 * A usage batch of the hour 2026-11-26 07:00 UTC: one bare-proxy-key request and two of access key
 * `accessKeyId` (300 tokens, 40 cached, $0.50), two successes with upstream key `keyId`.
 */
export function usageBatch(
  id: string,
  ids: { groupId: number; keyId: number; accessKeyId: number },
  last = USAGE_LAST,
): UsageBatch {
  const time = '2026-11-26T07:00:00.000Z';
  const zero = { failures: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, costUsd: 0 };
  return {
    id,
    buckets: [
      { time, groupId: ids.groupId, model: 'gpt-x', accessKeyId: 0, requests: 1, ...zero, failures: 1 },
      {
        time,
        groupId: ids.groupId,
        model: 'gpt-x',
        accessKeyId: ids.accessKeyId,
        requests: 2,
        failures: 0,
        promptTokens: 200,
        completionTokens: 100,
        cachedTokens: 40,
        costUsd: 0.5,
      },
    ],
    keys: [{ id: ids.keyId, count: 2, last }],
    accessKeys: [{ id: ids.accessKeyId, requests: 2, tokens: 300, costUsd: 0.5, last }],
  };
}

/** The columns of an access-key row for tests (no limits, every group). */
export function accessKeyData(name: string) {
  return {
    name,
    keyHash: name.padEnd(64, '0'),
    keyMasked: `${name}…`,
    groups: '*',
    models: [],
    limits: {},
  };
}
