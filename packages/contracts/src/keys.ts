import { z } from 'zod';
import { keyPacingUsageSchema, modelCoolingSchema } from './pool';

export const keyStatusSchema = z.enum(['active', 'cooling', 'invalid', 'disabled']);
export type KeyStatus = z.infer<typeof keyStatusSchema>;

export const keyStatsSchema = z.object({
  total: z.number().int(),
  active: z.number().int(),
  cooling: z.number().int(),
  invalid: z.number().int(),
  disabled: z.number().int(),
});
export type KeyStats = z.infer<typeof keyStatsSchema>;

const keyText = z.string().max(64 * 1024 * 1024);
const keyArray = z.array(z.string().max(4096)).max(1_000_000);

/** Splits pasted key text on any whitespace, comma or semicolon; drops empties and in-text duplicates. */
export function splitKeys(input: string | string[]): string[] {
  const parts = typeof input === 'string' ? input.split(/[\s,;]+/) : input.flatMap((k) => k.split(/[\s,;]+/));
  return [...new Set(parts.map((k) => k.trim()).filter((k) => k.length > 0))];
}

/** `POST /api/groups/{id}/keys` body. */
export const keysAddSchema = z.strictObject({ keys: z.union([keyText, keyArray]) });
export type KeysAdd = z.infer<typeof keysAddSchema>;

export const keysAddResultSchema = z.object({
  added: z.number().int(),
  ignored: z.number().int(),
  total: z.number().int(),
});
export type KeysAddResult = z.infer<typeof keysAddResultSchema>;

/** `DELETE /api/groups/{id}/keys` body: by value, by id or by state. */
export const keysDeleteSchema = z.union([
  z.strictObject({ keys: z.union([keyText, keyArray]) }),
  z.strictObject({ ids: z.array(z.number().int().positive()).min(1).max(100_000) }),
  z.strictObject({ status: keyStatusSchema }),
]);
export type KeysDelete = z.infer<typeof keysDeleteSchema>;

/** `GET /api/groups/{id}/keys` query. */
export const keyListQuerySchema = z.object({
  status: keyStatusSchema.optional(),
  search: z.string().max(4096).optional(),
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(1000).default(50),
});
export type KeyListQuery = z.infer<typeof keyListQuerySchema>;

/** A key as the admin API returns it (the value masked). */
export const keySchema = z.object({
  id: z.number().int(),
  groupId: z.number().int(),
  key: z.string(),
  status: keyStatusSchema,
  failureCount: z.number().int(),
  requestCount: z.number().int(),
  lastUsedAt: z.string().nullable(),
  lastError: z.string().nullable(),
  cooldownUntil: z.string().nullable(),
  /** Models this key is cooling for while it keeps serving others (ended coolings are left out). */
  modelCooling: z.array(modelCoolingSchema),
  /** Pacing usage, for keys of a group with `keyLimits`. */
  usage: keyPacingUsageSchema.optional(),
  /** The egress proxy this key always leaves through (masked), for keys of a group with a `proxyPool`. */
  proxy: z.string().optional(),
  notes: z.string(),
  createdAt: z.string(),
});
export type Key = z.infer<typeof keySchema>;
