import { z } from 'zod';
import {
  alertInputSchema,
  failureClassSchema,
  keyStatusSchema,
  logRowsSchema,
  requestLogRecordSchema,
  settingsSchema,
  usageBatchSchema,
} from '@keyway/contracts';
import type { JobName } from './names';

// Payloads cross process boundaries (Redis in distributed mode) and may be produced by an older or newer
// version during a rolling deploy, so objects strip unknown fields instead of rejecting them, and no schema has
// defaults or transforms: what a producer enqueues is exactly what a handler receives.

const id = z
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1);

/** The validation settings a re-check may be given instead of reading them (each falls back to the stored one). */
export const validationSettingsSchema = settingsSchema
  .pick({
    keyRecheckIntervalMinutes: true,
    keyValidationConcurrency: true,
    keyValidationTimeoutSeconds: true,
  })
  .partial();
export type ValidationSettingsOverride = z.infer<typeof validationSettingsSchema>;

/** `key-recheck`: re-validate the invalid keys of every group that is due. */
export const keyRecheckPayloadSchema = z.object({ settings: validationSettingsSchema.optional() });

/** Which keys a `key-validate` job checks. */
export const keyValidateScopeSchema = z.enum(['invalid', 'active', 'all']);
export type KeyValidateScope = z.infer<typeof keyValidateScopeSchema>;

/** `key-validate`: validate one group's keys in the given state now. */
export const keyValidatePayloadSchema = z.object({ groupId: id, status: keyValidateScopeSchema });

/**
 * `key-import`: add keys to a group. The values are as the control plane's KeyCipher sealed them, so with
 * ENCRYPTION_KEY set the queue never holds a plaintext key.
 */
export const keyImportPayloadSchema = z.object({
  groupId: id,
  keys: z.array(z.string().min(1).max(8192)).min(1).max(1_000_000),
});

/**
 * `request-logs`: a batch of request-log records from a gateway, as rows under their column names (what gateways
 * send: half the JSON of whole records, see LogRows) or as records (what earlier gateways sent); read as records.
 */
export const requestLogsPayloadSchema = z.union([
  z.object({ records: z.array(requestLogRecordSchema).min(1) }),
  logRowsSchema.transform((records) => ({ records })),
]);

/** `usage-batch`: one usage batch from a gateway (recorded whatever `requestLogging` says). */
export const usageBatchPayloadSchema = z.object({ batch: usageBatchSchema });

/** `log-retention`: delete request logs older than `retentionDays` (absent: the stored setting). */
export const logRetentionPayloadSchema = z.object({
  retentionDays: z.number().int().min(0).max(3650).optional(),
});

/** Why a key's health changed, as `@keyway/keypool`'s `KeyChangeCause` spells it. */
export const keyChangeCauseSchema = z.union([
  failureClassSchema,
  z.enum(['manual', 'recovered', 'validation']),
]);

/** One key state change, the shape of `@keyway/keypool`'s `KeyStateChange`. */
export const keyStateChangeSchema = z.object({
  keyId: id,
  groupId: id,
  status: keyStatusSchema,
  failureCount: z.number().int().min(0),
  cooldownUntil: z.number().nullable(),
  lastError: z.string().nullable(),
  /** Model-scoped coolings after the change (null = none); absent from older gateways. */
  modelCooling: z
    .record(z.string(), z.object({ until: z.number(), reason: z.string() }))
    .nullable()
    .optional(),
  cause: keyChangeCauseSchema,
  at: z.number(),
});

/** `key-events`: key health changes from a gateway, to persist. */
export const keyEventsPayloadSchema = z.object({ changes: z.array(keyStateChangeSchema).min(1) });

/** `key-test`: send one validation request with a key now (the worker reads the key; it is never in the queue). */
export const keyTestPayloadSchema = z.object({ groupId: id, keyId: id });

/** What a `key-test` job returns. */
export const keyTestResultSchema = z.object({
  valid: z.boolean(),
  statusCode: z.number().int().nullable(),
  durationMs: z.number(),
  error: z.string().nullable(),
});
export type KeyTestJobResult = z.infer<typeof keyTestResultSchema>;

/** `alert`: one alert to de-duplicate and deliver to the channels subscribed to its event. */
export const alertJobPayloadSchema = alertInputSchema;

/** The payload schema of every job; the compiler checks that none is missing. */
export const jobPayloadSchemas = {
  'key-recheck': keyRecheckPayloadSchema,
  'key-validate': keyValidatePayloadSchema,
  'key-import': keyImportPayloadSchema,
  'request-logs': requestLogsPayloadSchema,
  'usage-batch': usageBatchPayloadSchema,
  'log-retention': logRetentionPayloadSchema,
  'key-events': keyEventsPayloadSchema,
  'key-test': keyTestPayloadSchema,
  alert: alertJobPayloadSchema,
} as const satisfies Record<JobName, z.ZodType>;

/** The payload type of job `N`, as its handler gets it. */
export type JobPayload<N extends JobName> = z.infer<(typeof jobPayloadSchemas)[N]>;
/** What may be enqueued as job `N` (a payload its schema reads into a {@link JobPayload}). */
export type JobInput<N extends JobName> = z.input<(typeof jobPayloadSchemas)[N]>;

/** Thrown when a payload does not match its job's schema; carries the zod issues. */
export class InvalidJobPayloadError extends Error {
  readonly job: JobName;
  readonly issues: readonly z.core.$ZodIssue[];

  constructor(job: JobName, error: z.ZodError) {
    super(`invalid ${job} payload: ${z.prettifyError(error)}`);
    this.name = 'InvalidJobPayloadError';
    this.job = job;
    this.issues = error.issues;
  }
}

/** Validates a payload for job `name`; throws {@link InvalidJobPayloadError} when it does not match. */
export function parseJobPayload<N extends JobName>(name: N, payload: unknown): JobPayload<N> {
  const schema: z.ZodType = jobPayloadSchemas[name];
  const r = schema.safeParse(payload);
  if (!r.success) throw new InvalidJobPayloadError(name, r.error);
  return r.data as JobPayload<N>;
}
