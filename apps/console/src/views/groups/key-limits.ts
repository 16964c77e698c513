import { hasKeyLimits } from '@keyway/contracts';
import type { KeyLimits, KeyLimitSet, KeyPacingUsage } from '@keyway/contracts';

/** The three limits of one set; the order the editor and the key table show them in. */
export const LIMIT_FIELDS = ['rpm', 'tpm', 'rpd'] as const;
export type LimitField = (typeof LIMIT_FIELDS)[number];

/** One limit set as the number inputs hold it: a cleared input is null (or undefined before first touch). */
export type LimitInputs = Record<LimitField, number | null | undefined>;

export interface ModelLimitRow extends LimitInputs {
  model: string;
}

/** The key-limits editor's state: every input present, so an empty editor is simply all blanks. */
export interface KeyLimitsForm {
  default: LimitInputs;
  total: LimitInputs;
  models: ModelLimitRow[];
}

const blank = (): LimitInputs => ({ rpm: null, tpm: null, rpd: null });

function inputsOf(set: KeyLimitSet | null): LimitInputs {
  return set ? { rpm: set.rpm, tpm: set.tpm, rpd: set.rpd } : blank();
}

/** The editor's state for a group's `keyLimits` (null = nothing filled in). */
export function keyLimitsForm(limits: KeyLimits | null): KeyLimitsForm {
  return {
    default: inputsOf(limits?.default ?? null),
    total: inputsOf(limits?.total ?? null),
    models: Object.entries(limits?.models ?? {}).map(([model, set]) => ({ model, ...inputsOf(set) })),
  };
}

function setOf(inputs: LimitInputs): KeyLimitSet {
  const value = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return { rpm: value(inputs.rpm), tpm: value(inputs.tpm), rpd: value(inputs.rpd) };
}

const isEmpty = (s: KeyLimitSet): boolean => s.rpm === null && s.tpm === null && s.rpd === null;

/** Why a model row cannot be sent, keyed like the API's paths so they show on the same inputs. */
export type KeyLimitsProblem = 'modelMissing' | 'modelDuplicate';

/**
 * The API's `keyLimits` for the editor's state, or null when nothing limits anything (empty inputs mean "no
 * limit"). A model row with no numbers is kept while something else is limited: it exempts that model from
 * `default`. Rows without a model name and without numbers are ignored as unfinished.
 */
export function keyLimitsBody(form: KeyLimitsForm): {
  keyLimits: KeyLimits | null;
  problems: Record<string, KeyLimitsProblem>;
} {
  const problems: Record<string, KeyLimitsProblem> = {};
  const models: Record<string, KeyLimitSet> = {};
  form.models.forEach((row, i) => {
    const model = row.model.trim();
    const set = setOf(row);
    if (model === '') {
      if (!isEmpty(set)) problems[`keyLimits.models.${i}`] = 'modelMissing';
      return;
    }
    if (Object.hasOwn(models, model)) problems[`keyLimits.models.${i}`] = 'modelDuplicate';
    models[model] = set;
  });
  const def = setOf(form.default);
  const total = setOf(form.total);
  const limits: KeyLimits = {
    default: isEmpty(def) ? null : def,
    models,
    total: isEmpty(total) ? null : total,
  };
  return { keyLimits: hasKeyLimits(limits) ? limits : null, problems };
}

/** One usage figure against its limit, e.g. `3/10 rpm`; without a limit just the figure. */
export interface UsageFigure {
  field: LimitField;
  used: number;
  limit: number | null;
  /** At or over a `total` limit: the picker skips this key for now. */
  full: boolean;
}

const USAGE_OF: Record<LimitField, keyof KeyPacingUsage> = {
  rpm: 'rpmNow',
  tpm: 'tpmNow',
  rpd: 'requestsToday',
};

/**
 * A key's pacing usage (counted across its models) against the limits that bound it: `total` when set, which
 * caps exactly what is counted; else `default`, the per-model bound — shown for scale, never flagged full, since
 * usage of several models may pass it without any one model reaching it.
 */
export function usageFigures(
  usage: KeyPacingUsage,
  limits: KeyLimits | null,
): { scope: 'total' | 'model' | null; figures: UsageFigure[] } {
  const total = limits?.total ?? null;
  const bound = total ?? limits?.default ?? null;
  const figures = LIMIT_FIELDS.map((field) => {
    const used = usage[USAGE_OF[field]];
    const limit = bound?.[field] ?? null;
    return { field, used, limit, full: total !== null && limit !== null && used >= limit };
  });
  return { scope: total ? 'total' : bound ? 'model' : null, figures };
}

/** A limit set as text, e.g. `10 rpm · 250 rpd` (the API's unit names); '' when it limits nothing. */
export function limitSetText(set: KeyLimitSet | null, format: (n: number) => string): string {
  if (!set) return '';
  return LIMIT_FIELDS.flatMap((f) => {
    const v = set[f];
    return v === null ? [] : [`${format(v)} ${f}`];
  }).join(' · ');
}
