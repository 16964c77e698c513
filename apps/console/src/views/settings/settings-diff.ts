import type { SettingSchemaEntry, SettingsPatch } from '@keyway/contracts';

/** One changed setting: its values before and after the edit. */
export interface SettingChange {
  key: string;
  before: unknown;
  after: unknown;
  secret: boolean;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The settings whose draft value differs from the saved one, in schema order. */
export function diffSettings(
  schema: readonly SettingSchemaEntry[],
  saved: Record<string, unknown>,
  draft: Record<string, unknown>,
): SettingChange[] {
  return schema
    .filter((e) => !same(saved[e.key], draft[e.key]))
    .map((e) => ({ key: e.key, before: saved[e.key], after: draft[e.key], secret: e.secret === true }));
}

/** The PATCH body of a diff: only what changed, so untouched secrets are never re-sent. */
export function patchOf(changes: readonly SettingChange[]): SettingsPatch {
  return Object.fromEntries(changes.map((c) => [c.key, c.after]));
}

/** API validation paths (`proxyKeys.2`, `maxRetries`) mapped to the setting they belong to. */
export function errorsBySetting(fieldErrors: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, message] of Object.entries(fieldErrors)) {
    const key = path.split('.')[0] ?? '';
    out[key] ??= message;
  }
  return out;
}

export const CATEGORY_ORDER = ['basic', 'request', 'keys', 'logs'] as const;
