import { z } from 'zod';
import { pageSchema, paginationQuerySchema } from './common';
import { keyStatsSchema } from './keys';

/** The dashboard's time ranges. */
export const rangeSchema = z.enum(['24h', '7d', '30d']);
export type Range = z.infer<typeof rangeSchema>;

/** `GET /api/dashboard/summary` query. */
export const dashboardSummaryQuerySchema = z.object({ range: rangeSchema.default('24h') });
export type DashboardSummaryQuery = z.infer<typeof dashboardSummaryQuerySchema>;

/** Request counters of one window: requests (not attempts), failed requests, their ratio (0–1) and rpm. */
export const windowCountsSchema = z.object({
  requests: z.number().int(),
  errors: z.number().int(),
  errorRate: z.number(),
  rpm: z.number(),
});
export type WindowCounts = z.infer<typeof windowCountsSchema>;

/** `GET /api/dashboard/summary`. `previous` is the window of the same length just before. */
export const dashboardSummarySchema = windowCountsSchema.extend({
  keys: keyStatsSchema,
  tokens: z.object({ prompt: z.number().int(), completion: z.number().int() }),
  /** USD of the window's priced requests (requests of unpriced models add nothing). */
  costUsd: z.number(),
  previous: windowCountsSchema,
});
export type DashboardSummary = z.infer<typeof dashboardSummarySchema>;

/** `GET /api/dashboard/timeseries` query: `?groupId=` (empty) means every group. */
export const timeseriesQuerySchema = z.object({
  range: rangeSchema.default('24h'),
  groupId: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce
      .number()
      .int()
      .positive()
      .max(2 ** 31 - 1)
      .optional(),
  ),
});
export type TimeseriesQuery = z.infer<typeof timeseriesQuerySchema>;

/** One bucket of a time series; `start` is the ISO start of its hour (24h) or UTC day (7d, 30d). */
export const timeseriesBucketSchema = z.object({
  start: z.string(),
  requests: z.number().int(),
  errors: z.number().int(),
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  costUsd: z.number(),
});
export type TimeseriesBucket = z.infer<typeof timeseriesBucketSchema>;

/** `GET /api/dashboard/timeseries`: buckets oldest first, gaps filled with zeros. */
export const timeseriesSchema = z.object({ buckets: z.array(timeseriesBucketSchema) });
export type Timeseries = z.infer<typeof timeseriesSchema>;

/** What the usage table groups by. */
export const usageDimensionSchema = z.enum(['group', 'model', 'accessKey']);

/** `GET /api/dashboard/usage` query. */
export const dashboardUsageQuerySchema = z.object({
  range: rangeSchema.default('24h'),
  by: usageDimensionSchema.default('group'),
});
export type DashboardUsageQuery = z.infer<typeof dashboardUsageQuerySchema>;

/**
 * One row of the usage table. `id`: the group or access key id (0 = requests made with a bare proxy key), or the
 * model name; `name`: the group's or key's name (`#<id>` once deleted), or the model again.
 */
export const usageItemSchema = z.object({
  id: z.union([z.number().int(), z.string()]),
  name: z.string(),
  requests: z.number().int(),
  errors: z.number().int(),
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  cachedTokens: z.number().int(),
  /**
   * Cache-hit share of the range: cached prompt tokens / prompt tokens (0–1), null when no prompt tokens were
   * reported. What session affinity is for: turns of one conversation kept on one key hit the provider's cache.
   */
  cacheHitRate: z.number().min(0).max(1).nullable(),
  costUsd: z.number(),
});
export type UsageItem = z.infer<typeof usageItemSchema>;

/** `GET /api/dashboard/usage`: most requests first. */
export const dashboardUsageSchema = z.object({ items: z.array(usageItemSchema) });
export type DashboardUsage = z.infer<typeof dashboardUsageSchema>;

/** `GET /api/dashboard/unpriced-models` query. */
export const unpricedModelsQuerySchema = z.object({ range: rangeSchema.default('24h') });

/** `GET /api/dashboard/unpriced-models`: models that reported tokens in the range but have no price. */
export const unpricedModelsSchema = z.object({
  items: z.array(
    z.object({
      model: z.string(),
      requests: z.number().int(),
      promptTokens: z.number().int(),
      completionTokens: z.number().int(),
    }),
  ),
});
export type UnpricedModels = z.infer<typeof unpricedModelsSchema>;

/** What a dashboard warning is about. */
export const warningTypeSchema = z.enum([
  'AUTH_KEY_WEAK',
  'ENCRYPTION_DISABLED',
  'PROXY_KEY_WEAK',
  'NO_PROXY_KEYS',
  'GROUP_NO_KEYS',
  'GROUP_KEYS_INVALID',
  'GATEWAY_CONFIG',
  'PROXY_AUTH_FAILURES',
]);
export type WarningType = z.infer<typeof warningTypeSchema>;

/** One entry of `GET /api/dashboard/warnings`. */
export const warningSchema = z.object({
  type: warningTypeSchema,
  severity: z.enum(['high', 'medium']),
  message: z.string(),
  fix: z.string(),
});
export type Warning = z.infer<typeof warningSchema>;

export const warningsSchema = z.array(warningSchema);

/** Requests of one window: all of them and the failed ones. */
export const requestTotalsSchema = z.object({ total: z.number().int(), failed: z.number().int() });

/** `GET /api/groups/{id}/stats`. */
export const groupStatsSchema = z.object({
  keys: keyStatsSchema,
  requests: z.object({ '24h': requestTotalsSchema, '7d': requestTotalsSchema, '30d': requestTotalsSchema }),
});
export type GroupStats = z.infer<typeof groupStatsSchema>;

/** One audit log entry. */
export const auditEntrySchema = z.object({
  time: z.string(),
  clientIp: z.string(),
  action: z.string(),
  target: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** `GET /api/audit` query. */
export const auditQuerySchema = paginationQuerySchema;

/** `GET /api/audit`: newest first. */
export const auditPageSchema = pageSchema(auditEntrySchema);
export type AuditPage = z.infer<typeof auditPageSchema>;
