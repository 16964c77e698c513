import type { SettingSchemaEntry } from '@keyway/contracts';

type Translate = (key: string) => string;
type Exists = (key: string) => boolean;

/** A setting's label: translated when the console knows it, else its key (a setting newer than the console). */
export function settingLabel(key: string, t: Translate, te: Exists): string {
  const k = `settingFields.${key}.label`;
  return te(k) ? t(k) : key;
}

/** A setting's description: translated when known, else the API's own (English) text. */
export function settingDescription(entry: SettingSchemaEntry, t: Translate, te: Exists): string {
  const k = `settingFields.${entry.key}.description`;
  return te(k) ? t(k) : entry.description;
}

/** A value as text for summaries and "global value" hints. */
export function settingValueText(value: unknown, unset: string): string {
  if (value === null || value === undefined || value === '') return unset;
  if (Array.isArray(value))
    return value.length === 0 ? unset : value.map((v) => settingValueText(v, '')).join(', ');
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
