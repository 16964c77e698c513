import { pageSchema, requestLogSchema } from '@keyway/contracts';
import type { LogQuery } from '@keyway/contracts';
import type { z } from 'zod';
import type { Download, Http } from './http';

const logPageSchema = pageSchema(requestLogSchema);
export type LogPage = z.infer<typeof logPageSchema>;

/** The list filters (`LogQuery` without defaults applied). */
export type LogFilter = Partial<Omit<LogQuery, 'page' | 'pageSize'>>;

/** `/api/logs`: the list and its CSV export. */
export function createLogsApi(http: Http) {
  return {
    list: (filter: LogFilter, page: number, pageSize: number): Promise<LogPage> =>
      http.json('GET', '/api/logs', logPageSchema, { query: { ...filter, page, pageSize } }),
    export: (filter: LogFilter): Promise<Download> =>
      http.download('/api/logs/export', { query: { ...filter } }),
  };
}
