import {
  alertChannelCreateSchema,
  alertChannelPatchSchema,
  alertChannelSchema,
  alertHistoryItemSchema,
  alertTestResultSchema,
  pageSchema,
  paginationQuerySchema,
} from '@keyway/contracts';
import { z } from 'zod';
import type { RouteDoc } from './route-doc';

/** The alert routes (issue 16), documented like the rest of the admin API. */
export const alertRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/alerts/channels',
    summary: 'Alert channels (url as scheme and host, secret as a flag)',
    status: 200,
    response: z.object({ items: z.array(alertChannelSchema) }),
  },
  {
    method: 'post',
    path: '/api/alerts/channels',
    summary: 'Create an alert channel; url and secret are write-only',
    body: alertChannelCreateSchema,
    example: {
      name: 'ops-webhook',
      type: 'webhook',
      url: 'https://alerts.example.com/keyway',
      secret: 'a-signing-secret',
      events: ['key.invalid', 'group.exhausted'],
      enabled: true,
    },
    status: 201,
    response: alertChannelSchema,
  },
  {
    method: 'get',
    path: '/api/alerts/channels/{id}',
    summary: 'One alert channel',
    status: 200,
    response: alertChannelSchema,
  },
  {
    method: 'patch',
    path: '/api/alerts/channels/{id}',
    summary: 'Change an alert channel (omitted fields are kept, url and secret too; secret null removes it)',
    body: alertChannelPatchSchema,
    status: 200,
    response: alertChannelSchema,
  },
  {
    method: 'delete',
    path: '/api/alerts/channels/{id}',
    summary: 'Delete an alert channel (its history stays)',
    status: 204,
  },
  {
    method: 'post',
    path: '/api/alerts/channels/{id}/test',
    summary: 'Send a test alert through the channel now (one attempt) and report what its platform answered',
    status: 200,
    response: alertTestResultSchema,
  },
  {
    method: 'get',
    path: '/api/alerts/history',
    summary: 'Alerts sent, failed and suppressed by de-duplication, newest first',
    query: paginationQuerySchema,
    status: 200,
    response: pageSchema(alertHistoryItemSchema),
  },
];
