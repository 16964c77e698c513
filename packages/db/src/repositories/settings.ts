import type { SettingKey, Settings } from '@keyway/contracts';
import { defaultSettings, settingDefinitions } from '@keyway/contracts';
import type { DbClient } from '../client';

/** Settings stored as their plain value (proxy keys are stored hashed: the control plane reads those). */
export type PlainSettingKey = Exclude<SettingKey, 'proxyKeys'>;

/**
 * Reads some settings: the stored value of each over its built-in default. A stored value that no longer passes
 * its schema (written by another version, edited by hand) falls back to the default instead of failing.
 */
export async function readSettings<K extends PlainSettingKey>(
  db: DbClient,
  keys: readonly K[],
): Promise<Pick<Settings, K>> {
  const out = {} as Record<K, unknown>;
  for (const k of keys) out[k] = defaultSettings[k];
  const rows = await db.setting.findMany({ where: { key: { in: [...keys] } } });
  for (const row of rows) {
    const key = row.key as K;
    let value: unknown;
    try {
      value = JSON.parse(row.value);
    } catch {
      continue;
    }
    const parsed = settingDefinitions[key].schema.safeParse(value);
    if (parsed.success) out[key] = parsed.data;
  }
  return out as Pick<Settings, K>;
}
