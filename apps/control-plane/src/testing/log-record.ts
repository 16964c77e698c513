import type { RequestLogRecord } from '@keyway/contracts';

/** The plain, successful request most log tests start from. */
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
  requestBody: null,
};

/** A request-log record for tests: `n` makes the id and request id unique; the fields override the base. */
export function logRecord(
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

/** The fields of a fully described request (key, proxy key, client, path, tokens), for list and export tests. */
export const DESCRIBED: Partial<RequestLogRecord> = {
  keyId: 11,
  keyMasked: 'sk-te…wxyz',
  proxyKeyMasked: 'sk-pr…0001',
  clientIp: '10.0.0.1',
  requestPath: '/v1/chat/completions',
  promptTokens: 10,
  completionTokens: 20,
};
