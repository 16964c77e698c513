import {
  dashboardSummarySchema,
  dashboardUsageSchema,
  timeseriesSchema,
  unpricedModelsSchema,
  warningsSchema,
} from '@keyway/contracts';
import type { usageDimensionSchema } from '@keyway/contracts';
import type {
  DashboardSummary,
  DashboardUsage,
  Range,
  Timeseries,
  UnpricedModels,
  Warning,
} from '@keyway/contracts';
import type { z } from 'zod';
import type { Http } from './http';

/** What the usage table groups by. */
export type UsageBy = z.infer<typeof usageDimensionSchema>;

/** `/api/dashboard/*`. */
export function createDashboardApi(http: Http) {
  return {
    summary: (range: Range = '24h'): Promise<DashboardSummary> =>
      http.json('GET', '/api/dashboard/summary', dashboardSummarySchema, { query: { range } }),
    timeseries: (range: Range = '24h', groupId?: number): Promise<Timeseries> =>
      http.json('GET', '/api/dashboard/timeseries', timeseriesSchema, { query: { range, groupId } }),
    warnings: (): Promise<Warning[]> => http.json('GET', '/api/dashboard/warnings', warningsSchema),
    usage: (range: Range, by: UsageBy): Promise<DashboardUsage> =>
      http.json('GET', '/api/dashboard/usage', dashboardUsageSchema, { query: { range, by } }),
    unpricedModels: (range: Range = '24h'): Promise<UnpricedModels> =>
      http.json('GET', '/api/dashboard/unpriced-models', unpricedModelsSchema, { query: { range } }),
  };
}
