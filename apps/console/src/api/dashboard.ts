import { dashboardSummarySchema, timeseriesSchema, warningsSchema } from '@keyway/contracts';
import type { DashboardSummary, Range, Timeseries, Warning } from '@keyway/contracts';
import type { Http } from './http';

/** `/api/dashboard/*`. */
export function createDashboardApi(http: Http) {
  return {
    summary: (range: Range = '24h'): Promise<DashboardSummary> =>
      http.json('GET', '/api/dashboard/summary', dashboardSummarySchema, { query: { range } }),
    timeseries: (range: Range = '24h', groupId?: number): Promise<Timeseries> =>
      http.json('GET', '/api/dashboard/timeseries', timeseriesSchema, { query: { range, groupId } }),
    warnings: (): Promise<Warning[]> => http.json('GET', '/api/dashboard/warnings', warningsSchema),
  };
}
