import { z } from 'zod';
import { modelGlobSchema, noControl } from './common';
import { NUL_MESSAGE, noNul } from './groups';

/**
 * Access keys (API.md "Access keys"): named, revocable client keys with group and model scopes, rate limits and
 * budgets. Stored hashed like proxy keys (`hashProxyKey`), so a proxy key can become an access key unchanged.
 */

const count = z
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1)
  .nullable();
const usd = z.number().positive().max(1e9).nullable();

/** Every limit is optional; `null` (or absent) = none. */
export const accessKeyLimitsSchema = z.strictObject({
  /** Admitted requests in any trailing 60 s. */
  rpm: count.default(null),
  /** Tokens of the requests finished in the trailing 60 s. */
  tpm: count.default(null),
  /** Admitted requests since 00:00 UTC. */
  rpd: count.default(null),
  tokensPerDay: count.default(null),
  tokensPerMonth: count.default(null),
  costUsdPerDay: usd.default(null),
  costUsdPerMonth: usd.default(null),
  costUsdTotal: usd.default(null),
});
export type AccessKeyLimits = z.infer<typeof accessKeyLimitsSchema>;
export type AccessKeyLimit = keyof AccessKeyLimits;
export const ACCESS_KEY_LIMITS = Object.keys(accessKeyLimitsSchema.shape) as AccessKeyLimit[];

/** No limit at all. */
export const NO_LIMITS: AccessKeyLimits = accessKeyLimitsSchema.parse({});

/** Whether any USD limit is set (then unpriced models are refused). */
export function hasCostLimit(l: AccessKeyLimits): boolean {
  return l.costUsdPerDay !== null || l.costUsdPerMonth !== null || l.costUsdTotal !== null;
}

const groupIdSchema = z
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1);
/** Group ids in the order key-routed requests try them, or `"*"` (every group, in display order). */
export const accessKeyGroupsSchema = z.union([z.literal('*'), z.array(groupIdSchema).max(1000)]);
export type AccessKeyGroups = z.infer<typeof accessKeyGroupsSchema>;

export const accessKeyNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .refine(noControl, { message: 'must not contain control characters' });

const accessKeyFields = {
  name: accessKeyNameSchema,
  groups: accessKeyGroupsSchema.default([]),
  models: z.array(modelGlobSchema).max(200).default([]),
  limits: accessKeyLimitsSchema.default(NO_LIMITS),
  expiresAt: z.iso.datetime({ offset: true }).nullable().default(null),
  enabled: z.boolean().default(true),
  notes: z.string().max(2000).refine(noNul, NUL_MESSAGE).default(''),
};

/** Fields a GET returns that a client may send back; accepted and ignored (`key` too: the secret is generated). */
const readOnlyAccessKeyFields = {
  id: z.unknown().optional(),
  key: z.unknown().optional(),
  createdAt: z.unknown().optional(),
  lastUsedAt: z.unknown().optional(),
  usage: z.unknown().optional(),
};

function stripReadOnly<T extends Record<string, unknown>>(
  v: T,
): Omit<T, keyof typeof readOnlyAccessKeyFields> {
  const out: Record<string, unknown> = { ...v };
  for (const k of Object.keys(readOnlyAccessKeyFields)) delete out[k];
  return out as Omit<T, keyof typeof readOnlyAccessKeyFields>;
}

/** `POST /api/access-keys`. */
export const accessKeyCreateSchema = z
  .strictObject({ ...accessKeyFields, ...readOnlyAccessKeyFields })
  .transform(stripReadOnly);
export type AccessKeyCreate = z.infer<typeof accessKeyCreateSchema>;

/** `PATCH /api/access-keys/{id}`: any create field but the key; `limits` replaces the limits it names. */
export const accessKeyPatchSchema = z
  .strictObject({
    name: accessKeyNameSchema.optional(),
    groups: accessKeyGroupsSchema.optional(),
    models: z.array(modelGlobSchema).max(200).optional(),
    // Not `accessKeyLimitsSchema.partial()`: its defaults would fill the limits a patch does not name with null.
    limits: z
      .strictObject({
        rpm: count.optional(),
        tpm: count.optional(),
        rpd: count.optional(),
        tokensPerDay: count.optional(),
        tokensPerMonth: count.optional(),
        costUsdPerDay: usd.optional(),
        costUsdPerMonth: usd.optional(),
        costUsdTotal: usd.optional(),
      })
      .optional(),
    expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
    enabled: z.boolean().optional(),
    notes: z.string().max(2000).refine(noNul, NUL_MESSAGE).optional(),
    ...readOnlyAccessKeyFields,
  })
  .transform(stripReadOnly);
export type AccessKeyPatch = z.infer<typeof accessKeyPatchSchema>;

/** `POST /api/access-keys/from-proxy-key`: moves an existing proxy key (global when `groupId` is absent). */
export const accessKeyFromProxyKeySchema = z.strictObject({
  groupId: groupIdSchema.optional(),
  keyMasked: z.string().min(1).max(191),
  name: accessKeyNameSchema,
});
export type AccessKeyFromProxyKey = z.infer<typeof accessKeyFromProxyKeySchema>;

/** Usage of one access key, as the API shows it (UTC day and month). */
export const accessKeyUsageSchema = z.object({
  requestsToday: z.number().int(),
  tokensToday: z.number().int(),
  costUsdToday: z.number(),
  tokensMonth: z.number().int(),
  costUsdMonth: z.number(),
  costUsdTotal: z.number(),
  rpmNow: z.number().int(),
});
export type AccessKeyUsage = z.infer<typeof accessKeyUsageSchema>;

/** An access key as the API returns it: `key` is masked except in the create and rotate responses. */
export const accessKeySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  key: z.string(),
  groups: accessKeyGroupsSchema,
  models: z.array(z.string()),
  limits: accessKeyLimitsSchema,
  expiresAt: z.string().nullable(),
  enabled: z.boolean(),
  notes: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  usage: accessKeyUsageSchema,
});
export type AccessKey = z.infer<typeof accessKeySchema>;

/** `POST /api/access-keys/{id}/rotate`. */
export const accessKeyRotateResultSchema = z.object({ key: z.string() });

/** An access key as the data plane needs it: its hash, never the secret. */
export const accessKeySnapshotSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  hash: z.string(),
  groups: accessKeyGroupsSchema,
  models: z.array(z.string()),
  limits: accessKeyLimitsSchema,
  expiresAt: z.string().nullable(),
  enabled: z.boolean(),
});
export type AccessKeySnapshot = z.infer<typeof accessKeySnapshotSchema>;

/**
 * Compiles model globs (`*` = any run, `?` = one character, everything else literal) into one matcher;
 * an empty list matches every model.
 */
export function modelMatcher(globs: readonly string[]): (model: string) => boolean {
  if (globs.length === 0) return () => true;
  const source = globs
    .map((g) =>
      g
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
        .join(''),
    )
    .join('|');
  const re = new RegExp(`^(?:${source})$`, 's');
  return (model) => re.test(model);
}
