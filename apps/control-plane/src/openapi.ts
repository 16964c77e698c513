import {
  auditPageSchema,
  authSessionListSchema,
  auditQuerySchema,
  dashboardSummaryQuerySchema,
  dashboardSummarySchema,
  errorEnvelopeSchema,
  groupStatsSchema,
  timeseriesQuerySchema,
  timeseriesSchema,
  warningsSchema,
  groupCreateSchema,
  groupPatchSchema,
  groupSchema,
  keyListQuerySchema,
  keySchema,
  keysAddResultSchema,
  keysAddSchema,
  keysDeleteSchema,
  keyStatusSchema,
  logQuerySchema,
  pageSchema,
  requestLogSchema,
  settingSchemaEntrySchema,
  settingsPatchSchema,
  settingsSchema,
} from '@keyway/contracts';
import { taskStatusSchema } from '@keyway/queue';
import { z } from 'zod';
import { logExportQuerySchema } from './log-export';
import { groupProxyHealthRouteDocs } from './group-proxies-health';
import { gptLoadImportJsonSchema } from './import-gpt-load';
import { accessKeyRouteDocs } from './openapi-access-keys';
import { alertRouteDocs } from './openapi-alerts';
import type { RouteDoc } from './route-doc';

export type { RouteDoc } from './route-doc';

const loginSchema = z.strictObject({ authKey: z.string() });
const sessionSchema = z.object({ authenticated: z.literal(true), expiresAt: z.string().nullable() });
const copySchema = z.strictObject({
  name: z.string().optional(),
  keys: z.enum(['all', 'valid', 'none']).default('all'),
});
const orderSchema = z.strictObject({ ids: z.array(z.number().int().positive()) });
const restoreSchema = z.strictObject({ ids: z.array(z.number().int().positive()).optional() });
const keyPatchSchema = z.strictObject({
  notes: z.string().optional(),
  status: z.enum(['active', 'disabled']).optional(),
});
const settingsResponse = z.object({ values: settingsSchema, schema: z.array(settingSchemaEntrySchema) });

/** Every route of the admin API; the OpenAPI document is generated from this table and checked against the app. */
export const routeDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/auth/login',
    summary: 'Log in with the admin key (sets an HttpOnly session cookie)',
    body: loginSchema,
    status: 204,
    public: true,
  },
  {
    method: 'post',
    path: '/api/auth/logout',
    summary: 'Revoke the current session and clear its cookie',
    status: 204,
    public: true,
  },
  {
    method: 'get',
    path: '/api/auth/session',
    summary: 'The current session',
    status: 200,
    response: sessionSchema,
    public: true,
  },
  {
    method: 'get',
    path: '/api/auth/sessions',
    summary: 'The live admin sessions, newest first (`current` marks the calling one)',
    status: 200,
    response: authSessionListSchema,
  },
  {
    method: 'delete',
    path: '/api/auth/sessions',
    summary: 'Revoke every session except the calling one',
    status: 204,
  },
  {
    method: 'delete',
    path: '/api/auth/sessions/{id}',
    summary: 'Revoke one session',
    status: 204,
  },
  {
    method: 'get',
    path: '/api/groups',
    summary: 'List groups in display order',
    status: 200,
    response: z.object({ items: z.array(groupSchema) }),
  },
  {
    method: 'post',
    path: '/api/groups',
    summary: 'Create a group',
    body: groupCreateSchema,
    status: 201,
    response: groupSchema,
  },
  {
    method: 'put',
    path: '/api/groups/order',
    summary: 'Set the display order',
    body: orderSchema,
    status: 204,
  },
  { method: 'get', path: '/api/groups/{id}', summary: 'One group', status: 200, response: groupSchema },
  {
    method: 'patch',
    path: '/api/groups/{id}',
    summary: 'Change a group (any subset of the create fields)',
    body: groupPatchSchema,
    status: 200,
    response: groupSchema,
  },
  { method: 'delete', path: '/api/groups/{id}', summary: 'Delete a group and its keys', status: 204 },
  {
    method: 'post',
    path: '/api/groups/{id}/copy',
    summary: 'Copy a group with all, valid or no keys',
    body: copySchema,
    status: 201,
    response: groupSchema,
  },
  {
    method: 'post',
    path: '/api/groups/{id}/keys',
    summary: 'Add keys (duplicates ignored)',
    body: keysAddSchema,
    status: 200,
    response: keysAddResultSchema,
  },
  {
    method: 'get',
    path: '/api/groups/{id}/keys',
    summary: 'List keys (masked) with live state',
    query: keyListQuerySchema,
    status: 200,
    response: pageSchema(keySchema),
  },
  {
    method: 'delete',
    path: '/api/groups/{id}/keys',
    summary: 'Delete keys by value, id or state',
    body: keysDeleteSchema,
    status: 200,
    response: z.object({ deleted: z.number().int() }),
  },
  {
    method: 'get',
    path: '/api/groups/{id}/keys/export',
    summary: 'Export plaintext keys, one per line',
    query: z.object({ status: keyStatusSchema.optional() }),
    status: 200,
    response: 'text',
  },
  {
    method: 'post',
    path: '/api/groups/{id}/keys/restore',
    summary: 'Restore invalid and cooling keys',
    body: restoreSchema,
    status: 200,
    response: z.object({ restored: z.number().int() }),
  },
  {
    method: 'patch',
    path: '/api/keys/{keyId}',
    summary: 'Change notes or enable/disable a key',
    body: keyPatchSchema,
    status: 200,
    response: keySchema,
  },
  {
    method: 'get',
    path: '/api/settings',
    summary: 'Settings with their schema',
    status: 200,
    response: settingsResponse,
  },
  {
    method: 'patch',
    path: '/api/settings',
    summary: 'Change settings (hot-reloaded)',
    body: settingsPatchSchema,
    status: 200,
    response: z.object({ values: settingsSchema }),
  },
  {
    method: 'get',
    path: '/api/logs',
    summary: 'Request logs, newest first',
    query: logQuerySchema,
    status: 200,
    response: pageSchema(requestLogSchema),
  },
  {
    method: 'get',
    path: '/api/logs/export',
    summary: 'Request logs matching the list filters as a streamed CSV',
    query: logExportQuerySchema,
    status: 200,
    response: 'csv',
  },
  {
    method: 'get',
    path: '/api/groups/{id}/stats',
    summary: 'Live key counts and requests of the last 24h, 7d and 30d',
    status: 200,
    response: groupStatsSchema,
  },
  {
    method: 'get',
    path: '/api/dashboard/summary',
    summary: 'Requests, errors, rpm, keys and tokens of a range, with the range before',
    query: dashboardSummaryQuerySchema,
    status: 200,
    response: dashboardSummarySchema,
  },
  {
    method: 'get',
    path: '/api/dashboard/timeseries',
    summary: 'Hourly (24h) or daily (7d, 30d) buckets, zeros filled',
    query: timeseriesQuerySchema,
    status: 200,
    response: timeseriesSchema,
  },
  {
    method: 'get',
    path: '/api/dashboard/warnings',
    summary: 'Security and configuration warnings, high severity first',
    status: 200,
    response: warningsSchema,
  },
  {
    method: 'get',
    path: '/api/audit',
    summary: 'Audit log, newest first',
    query: auditQuerySchema,
    status: 200,
    response: auditPageSchema,
  },
  {
    method: 'get',
    path: '/api/tasks',
    summary: 'Background tasks (active=true: queued or running)',
    query: z.object({ active: z.enum(['true', 'false']).optional() }),
    status: 200,
    response: z.object({ items: z.array(taskStatusSchema) }),
  },
  {
    method: 'get',
    path: '/api/tasks/{taskId}',
    summary: 'One background task with its progress',
    status: 200,
    response: taskStatusSchema,
  },
  {
    method: 'post',
    path: '/api/import/gpt-load',
    summary:
      'Import a GPT-Load 1.4.x database: JSON {databaseUrl, encryptionKey, dryRun, logs} for MySQL/PostgreSQL, or multipart (file = SQLite database, encryptionKey, dryRun, logs); the result is the task result',
    body: gptLoadImportJsonSchema,
    // Port 9 (discard) refuses at once: the task fails fast and imports nothing.
    example: { databaseUrl: 'postgres://gptload@127.0.0.1:9/gptload', dryRun: true },
    status: 202,
    response: z.object({ taskId: z.string() }),
  },
  {
    method: 'post',
    path: '/api/groups/{id}/keys/validate',
    summary: 'Validate keys in the background',
    body: z.strictObject({ status: z.enum(['invalid', 'active', 'all']) }),
    status: 202,
    response: z.object({ taskId: z.string() }),
  },
  {
    method: 'post',
    path: '/api/keys/{keyId}/test',
    summary: 'Send one validation request with a key now',
    status: 200,
    response: z.object({
      valid: z.boolean(),
      statusCode: z.number().int().nullable(),
      durationMs: z.number(),
      error: z.string().nullable(),
    }),
  },
  {
    method: 'get',
    path: '/api/openapi.json',
    summary: 'This document',
    status: 200,
    response: z.object({ openapi: z.string() }),
  },
  ...accessKeyRouteDocs,
  ...alertRouteDocs,
  ...groupProxyHealthRouteDocs,
];

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
}

function parameters(doc: RouteDoc): Array<Record<string, unknown>> {
  const path = [...doc.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: m[1] === 'model' ? { type: 'string', minLength: 1 } : { type: 'integer', minimum: 1 },
  }));
  const query = doc.query
    ? Object.entries(doc.query.shape).map(([name, s]) => ({
        name,
        in: 'query',
        required: !(s as z.ZodType).safeParse(undefined).success,
        schema: jsonSchema(s as z.ZodType, 'input'),
      }))
    : [];
  return [...path, ...query];
}

/** The OpenAPI 3.1 document of the admin API, generated from the zod schemas in `@keyway/contracts`. */
export function buildOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const error = {
    description: 'Error',
    content: { 'application/json': { schema: jsonSchema(errorEnvelopeSchema, 'output') } },
  };
  for (const doc of routeDocs) {
    const content =
      doc.response === undefined
        ? undefined
        : doc.response === 'text'
          ? { 'text/plain': { schema: { type: 'string' } } }
          : doc.response === 'csv'
            ? { 'text/csv': { schema: { type: 'string' } } }
            : { 'application/json': { schema: jsonSchema(doc.response, 'output') } };
    (paths[doc.path] ??= {})[doc.method] = {
      summary: doc.summary,
      ...(doc.public ? { security: [] } : {}),
      parameters: parameters(doc),
      ...(doc.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(doc.body, 'input') } },
            },
          }
        : {}),
      responses: {
        [String(doc.status)]: { description: 'Success', ...(content ? { content } : {}) },
        '400': error,
        ...(doc.public ? {} : { '401': error }),
        ...(doc.path.includes('{') ? { '404': error } : {}),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Keyway admin API',
      version: '1.0.0',
      description: 'Groups, keys, settings, logs and dashboards of a Keyway gateway.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'AUTH_KEY' },
        session: { type: 'apiKey', in: 'cookie', name: 'kw_session' },
      },
    },
    security: [{ bearer: [] }, { session: [] }],
    paths,
  };
}
