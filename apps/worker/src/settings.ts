import type { Settings } from '@keyway/contracts';
import { defaultSettings } from '@keyway/contracts';

/** The settings key validation runs with. */
export type ValidationSettings = Pick<
  Settings,
  'keyRecheckIntervalMinutes' | 'keyValidationConcurrency' | 'keyValidationTimeoutSeconds'
>;

const KEYS = [
  'keyRecheckIntervalMinutes',
  'keyValidationConcurrency',
  'keyValidationTimeoutSeconds',
] as const;

/** Whether `s` names every validation setting (then nothing needs loading). */
export function isCompleteValidationSettings(
  s: Partial<ValidationSettings> | undefined,
): s is ValidationSettings {
  return s !== undefined && KEYS.every((k) => typeof s[k] === 'number');
}

/**
 * A group's effective validation settings: its own `config` override, else the global setting, else the
 * built-in default. Each layer may lack any setting (or hold null), so the merge is per key.
 */
export function resolveValidationSettings(
  global: Partial<ValidationSettings>,
  // Not GroupConfig: any group config (a GroupSnapshot's, a parsed row's) carries these optional fields.
  config: Partial<ValidationSettings> = {},
): ValidationSettings {
  const out = {} as ValidationSettings;
  for (const k of KEYS) out[k] = config[k] ?? global[k] ?? defaultSettings[k];
  return out;
}

/** Whether a group last validated at `lastValidatedAt` is due for a re-check at `now`. */
export function isRecheckDue(lastValidatedAt: Date | null, intervalMinutes: number, now: number): boolean {
  return lastValidatedAt === null || now - lastValidatedAt.getTime() >= intervalMinutes * 60_000;
}
