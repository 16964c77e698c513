import { ACCESS_KEY_LIMITS, accessKeyCreateSchema } from '@keyway/contracts';
import type { AccessKey, AccessKeyCreate, AccessKeyLimit, AccessKeyLimits } from '@keyway/contracts';

/** Limits counted in requests or tokens (whole numbers); the rest are USD. */
export const COUNT_LIMITS = ['rpm', 'tpm', 'rpd', 'tokensPerDay', 'tokensPerMonth'] as const;
export const USD_LIMITS = ['costUsdPerDay', 'costUsdPerMonth', 'costUsdTotal'] as const;

export function isUsdLimit(limit: AccessKeyLimit): boolean {
  return (USD_LIMITS as readonly string[]).includes(limit);
}

/** The dialog's editable state: `null` limits are "none", `allGroups` stands for `groups: "*"`. */
export interface AccessKeyForm {
  name: string;
  allGroups: boolean;
  groups: number[];
  models: string[];
  limits: Record<AccessKeyLimit, number | null>;
  expiresAt: string | null;
  enabled: boolean;
  notes: string;
}

const noLimits = (): Record<AccessKeyLimit, number | null> =>
  Object.fromEntries(ACCESS_KEY_LIMITS.map((l) => [l, null])) as Record<AccessKeyLimit, number | null>;

export function emptyForm(): AccessKeyForm {
  return {
    name: '',
    allGroups: false,
    groups: [],
    models: [],
    limits: noLimits(),
    expiresAt: null,
    enabled: true,
    notes: '',
  };
}

export function formFromKey(k: AccessKey): AccessKeyForm {
  return {
    name: k.name,
    allGroups: k.groups === '*',
    groups: k.groups === '*' ? [] : [...k.groups],
    models: [...k.models],
    limits: { ...noLimits(), ...k.limits },
    expiresAt: k.expiresAt,
    enabled: k.enabled,
    notes: k.notes,
  };
}

export type FieldErrors = Record<string, string>;
export type BuildResult = { ok: true; body: AccessKeyCreate } | { ok: false; errors: FieldErrors };

/**
 * Validates the form with the API's own schema and returns the body (the same for create and edit: PATCH
 * accepts every create field, and sending all limits replaces them all). Paths follow the API's, so server
 * errors land on the same fields.
 */
export function buildBody(form: AccessKeyForm): BuildResult {
  // An input cleared to 0 or below means "no limit" rather than "refuse everything".
  const limits = Object.fromEntries(
    ACCESS_KEY_LIMITS.map((l) => {
      const v = form.limits[l];
      return [l, typeof v === 'number' && v > 0 ? v : null];
    }),
  ) as AccessKeyLimits;
  const parsed = accessKeyCreateSchema.safeParse({
    name: form.name.trim(),
    groups: form.allGroups ? '*' : form.groups,
    models: form.models.map((m) => m.trim()).filter((m) => m !== ''),
    limits,
    expiresAt: form.expiresAt,
    enabled: form.enabled,
    notes: form.notes,
  });
  if (parsed.success) return { ok: true, body: parsed.data };
  const errors: FieldErrors = {};
  for (const issue of parsed.error.issues)
    errors[fieldOf(issue.path.map(String).join('.'))] ??= issue.message;
  return { ok: false, errors };
}

/** `models.3` → `models`: the form shows list errors on the whole list. */
export function fieldOf(path: string): string {
  const m = /^(models|groups)\.\d+$/.exec(path);
  return m?.[1] ?? path;
}

/** API validation details as form errors. */
export function errorsFromApi(fieldErrors: Record<string, string>): FieldErrors {
  const out: FieldErrors = {};
  for (const [path, message] of Object.entries(fieldErrors)) out[fieldOf(path)] ??= message;
  return out;
}
