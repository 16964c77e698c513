import { z } from 'zod';
import { groupSchema } from './groups';
import { settingSchemaEntrySchema, settingsSchema } from './settings';

// Admin API response envelopes that are not a resource of their own: what the console parses every answer with.

/** `GET /api/auth/session`. */
export const sessionSchema = z.object({ authenticated: z.literal(true), expiresAt: z.string().nullable() });
export type Session = z.infer<typeof sessionSchema>;

/** `GET /api/groups`. */
export const groupListSchema = z.object({ items: z.array(groupSchema) });

/** `GET /api/settings`. */
export const settingsResponseSchema = z.object({
  values: settingsSchema,
  schema: z.array(settingSchemaEntrySchema),
});
export type SettingsResponse = z.infer<typeof settingsResponseSchema>;

/** `PATCH /api/settings`. */
export const settingsValuesSchema = z.object({ values: settingsSchema });

/** A background task (`GET /api/tasks/{id}`); `type` stays a string so a new job kind never breaks the page. */
export const taskSchema = z.object({
  id: z.string(),
  type: z.string(),
  state: z.enum(['queued', 'running', 'succeeded', 'failed']),
  processed: z.number(),
  total: z.number(),
  result: z.unknown(),
  error: z.string().nullable(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});
export type Task = z.infer<typeof taskSchema>;

export const taskListSchema = z.object({ items: z.array(taskSchema) });

/** 202 answers that started a background task. */
export const taskRefSchema = z.object({ taskId: z.string() });
export type TaskRef = z.infer<typeof taskRefSchema>;

/** `POST /api/keys/{id}/test`. */
export const keyTestResultSchema = z.object({
  valid: z.boolean(),
  statusCode: z.number().int().nullable(),
  durationMs: z.number(),
  error: z.string().nullable(),
});
export type KeyTestResult = z.infer<typeof keyTestResultSchema>;

export const deletedSchema = z.object({ deleted: z.number().int() });
export const restoredSchema = z.object({ restored: z.number().int() });

/** What a finished `key-validate` task returns (worker's ValidateSummary); read leniently. */
export const validateResultSchema = z
  .object({
    total: z.number(),
    checked: z.number(),
    valid: z.number(),
    restored: z.number(),
    invalidated: z.number(),
    failed: z.number(),
  })
  .partial();
