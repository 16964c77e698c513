import { z } from 'zod';
import { noControl } from './common';

/**
 * The smarter pool's group fields (API.md "Smarter pool"): per-upstream-key pacing limits, session affinity and
 * the time zone daily limits reset in.
 */

const limitValue = z.number().int().min(1).max(1_000_000_000).nullable().optional();

/** Limits of one upstream key, for one model or across all models. Omitted or null = no limit. */
export const keyLimitSetSchema = z
  .strictObject({ rpm: limitValue, tpm: limitValue, rpd: limitValue })
  .transform(({ rpm, tpm, rpd }) => ({ rpm: rpm ?? null, tpm: tpm ?? null, rpd: rpd ?? null }));
export type KeyLimitSet = z.infer<typeof keyLimitSetSchema>;

const modelNameSchema = z
  .string()
  .min(1)
  .max(255)
  .refine(noControl, { message: 'must not contain control characters' });

/**
 * `keyLimits`: `default` applies to each model separately (the way providers count), `models` overrides it for
 * exact model names (the model sent upstream), `total` caps all models of one key together.
 */
export const keyLimitsSchema = z.strictObject({
  default: keyLimitSetSchema.nullable().default(null),
  models: z
    .record(modelNameSchema, keyLimitSetSchema)
    .refine((m) => Object.keys(m).length <= 200, { message: 'at most 200 model overrides' })
    .default({}),
  total: keyLimitSetSchema.nullable().default(null),
});
export type KeyLimits = z.infer<typeof keyLimitsSchema>;

/** Whether `limits` limits anything (an all-null object is the same as none). */
export function hasKeyLimits(limits: KeyLimits | null | undefined): limits is KeyLimits {
  if (!limits) return false;
  const any = (s: KeyLimitSet | null) => s !== null && (s.rpm !== null || s.tpm !== null || s.rpd !== null);
  return any(limits.default) || any(limits.total) || Object.values(limits.models).some(any);
}

/** The limit set that applies to `model` (the `models` entry, else `default`), or null. */
export function keyLimitsFor(limits: KeyLimits, model: string | null): KeyLimitSet | null {
  if (model !== null) {
    const own = limits.models[model];
    if (own) return own;
  }
  return limits.default;
}

const headerNameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(100)
  .regex(/^[!#$%&'*+.^_`|~0-9a-z-]+$/, 'not a valid HTTP header name');

/** `affinity`: requests of one session go to the same upstream key while it is usable. */
export const affinitySchema = z.strictObject({
  mode: z.enum(['off', 'session']).default('off'),
  header: headerNameSchema.default('x-session-id'),
  ttlSeconds: z
    .number()
    .int()
    .min(10)
    .max(7 * 86_400)
    .default(3600),
});
export type Affinity = z.infer<typeof affinitySchema>;

export const defaultAffinity: Affinity = { mode: 'off', header: 'x-session-id', ttlSeconds: 3600 };

/** Whether `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `dailyResetTimeZone`: null = the channel's default (`America/Los_Angeles` for gemini, `UTC` otherwise). */
export const dailyResetTimeZoneSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .refine(isTimeZone, { message: 'must be an IANA time zone such as UTC or America/Los_Angeles' })
  .nullable();

/** The zone daily key limits and per-day quota coolings reset in, for a group of `channel`. */
export function dailyResetZone(channel: string, configured: string | null | undefined): string {
  if (configured) return configured;
  return channel === 'gemini' ? 'America/Los_Angeles' : 'UTC';
}

/** One model a key is cooling for (a quota or rate error the provider scoped to that model). */
export const modelCoolingSchema = z.object({
  model: z.string(),
  /** ISO time the key may serve the model again. */
  until: z.string(),
  reason: z.string(),
});
export type ModelCooling = z.infer<typeof modelCoolingSchema>;

/** A key's pacing usage (only for groups with `keyLimits`). */
export const keyPacingUsageSchema = z.object({
  rpmNow: z.number(),
  tpmNow: z.number(),
  requestsToday: z.number(),
});
export type KeyPacingUsage = z.infer<typeof keyPacingUsageSchema>;
