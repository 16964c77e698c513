import { z } from 'zod';

/** How one upstream outcome was classified (DESIGN §5). */
export const failureClassSchema = z.enum([
  'ok',
  'auth',
  'quota',
  'rate',
  'upstream',
  /** 503/529 "overloaded": the provider is busy, not the key (the upstream is penalised briefly). */
  'overloaded',
  /** A success status with no content, retried under `retryOnEmpty`. */
  'empty',
  /** The egress proxy refused or failed: the key is untouched, the proxy penalised. */
  'proxy',
  /** No first content event within `firstTokenTimeoutSeconds` (nothing reached the client yet). */
  'slow',
  'client',
  'aborted',
]);
export type FailureClass = z.infer<typeof failureClassSchema>;

export const attemptSchema = z.object({
  keyId: z.number().int().nullable(),
  key: z.string().nullable(),
  upstreamUrl: z.string(),
  statusCode: z.number().int(),
  class: failureClassSchema,
  durationMs: z.number(),
  error: z.string().nullable(),
  /** The egress proxy the attempt left through (credentials masked); absent when it went direct. */
  proxy: z.string().optional(),
  /** The model the attempt asked the upstream for (after aliasing and redirect); absent when none was named. */
  model: z.string().optional(),
});
export type Attempt = z.infer<typeof attemptSchema>;

/** Fields a log record and its API form share. */
const logFields = {
  id: z.string(),
  requestId: z.string(),
  time: z.string(),
  groupId: z.number().int(),
  groupName: z.string(),
  parentGroupName: z.string().nullable(),
  keyId: z.number().int().nullable(),
  model: z.string().nullable(),
  statusCode: z.number().int(),
  success: z.boolean(),
  durationMs: z.number(),
  ttfbMs: z.number().nullable(),
  stream: z.boolean(),
  retries: z.number().int(),
  attempts: z.array(attemptSchema),
  error: z.string().nullable(),
  clientIp: z.string().nullable(),
  promptTokens: z.number().int().nullable(),
  completionTokens: z.number().int().nullable(),
  /** Of the prompt tokens, those read from the provider's cache. */
  cachedTokens: z.number().int().nullable(),
  /** From the price table for the model that served; null when unpriced or no usage was reported. */
  costUsd: z.number().nullable(),
  /** The access key that made the request (null for a bare proxy key). */
  accessKeyId: z.number().int().nullable(),
  accessKeyName: z.string().nullable(),
  /** The caller's dialect when the request was translated to the group's channel; null when native. */
  translatedFrom: z.enum(['openai', 'anthropic']).nullable(),
};

/** One proxied request as the log API returns it. */
export const requestLogSchema = z.object({
  ...logFields,
  key: z.string().nullable(),
  proxyKey: z.string().nullable(),
});
export type RequestLog = z.infer<typeof requestLogSchema>;

/** An optional numeric query parameter: `?x=` (empty) means unset, not 0. */
const optionalNumber = (schema: z.ZodNumber) =>
  z.preprocess(
    (v) => (v === '' || v === undefined ? undefined : v),
    z.coerce.number().pipe(schema).optional(),
  );

/** `GET /api/logs` query. */
export const logQuerySchema = z.object({
  groupId: optionalNumber(z.number().int().positive()),
  result: z.enum(['success', 'error']).optional(),
  statusCode: optionalNumber(z.number().int().min(0).max(999)),
  model: z.string().max(255).optional(),
  keyId: optionalNumber(z.number().int().positive()),
  accessKeyId: optionalNumber(z.number().int().positive()),
  search: z.string().max(500).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(1000).default(50),
});
export type LogQuery = z.infer<typeof logQuerySchema>;

/** One request-log record as the gateway emits it (the log queue's job payload in distributed mode). */
export const requestLogRecordSchema = z.object({
  ...logFields,
  parentGroupId: z.number().int().nullable(),
  keyMasked: z.string().nullable(),
  proxyKeyMasked: z.string().nullable(),
  requestPath: z.string().nullable(),
  requestBody: z.string().nullable(),
});
export type RequestLogRecord = z.infer<typeof requestLogRecordSchema>;
