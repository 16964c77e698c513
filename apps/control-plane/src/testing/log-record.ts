import type { RequestLogRecord } from '@keyway/contracts';

/** A request-log record for tests: `n` makes the id and request id unique; the fields override the base. */
export { requestLogRecord as logRecord } from '@keyway/db/testing';

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
