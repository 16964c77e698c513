import {
  alertChannelSchema,
  alertHistoryItemSchema,
  alertTestResultSchema,
  pageSchema,
} from '@keyway/contracts';
import type {
  AlertChannel,
  AlertChannelCreate,
  AlertChannelPatch,
  AlertHistoryItem,
  AlertTestResult,
} from '@keyway/contracts';
import { z } from 'zod';
import type { Http } from './http';

const channelListSchema = z.object({ items: z.array(alertChannelSchema) });
const historyPageSchema = pageSchema(alertHistoryItemSchema);

/** `/api/alerts`: where alerts go (URLs and secrets write-only) and what was sent. */
export function createAlertsApi(http: Http) {
  return {
    channels: async (): Promise<AlertChannel[]> =>
      (await http.json('GET', '/api/alerts/channels', channelListSchema)).items,
    // Silent: the dialog shows validation errors on its fields.
    create: (body: AlertChannelCreate): Promise<AlertChannel> =>
      http.json('POST', '/api/alerts/channels', alertChannelSchema, { body, silent: true }),
    update: (id: number, body: AlertChannelPatch, silent = true): Promise<AlertChannel> =>
      http.json('PATCH', `/api/alerts/channels/${id}`, alertChannelSchema, { body, silent }),
    remove: (id: number): Promise<void> => http.send('DELETE', `/api/alerts/channels/${id}`),
    test: (id: number): Promise<AlertTestResult> =>
      http.json('POST', `/api/alerts/channels/${id}/test`, alertTestResultSchema),
    history: (
      page: number,
      pageSize: number,
    ): Promise<{ items: AlertHistoryItem[]; total: number; page: number; pageSize: number }> =>
      http.json('GET', '/api/alerts/history', historyPageSchema, { query: { page, pageSize } }),
  };
}
