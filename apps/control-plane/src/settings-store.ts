import type { Settings, SettingsPatch } from '@keyway/contracts';
import { maskProxyUrl } from '@keyway/contracts';
import type { DbClient, StoredSettings } from '@keyway/db';
import { readAllSettings, writeSettings } from '@keyway/db';
import { storeProxyKeys } from './proxy-keys';

export type { StoredProxyKey, StoredSettings } from '@keyway/db';

/** Reads every setting: stored values over built-in defaults (an unreadable stored value falls back to the default). */
export function loadSettings(db: DbClient): Promise<StoredSettings> {
  return readAllSettings(db);
}

/** Writes a validated patch; proxy keys are hashed first. */
export async function saveSettings(
  db: DbClient,
  patch: SettingsPatch,
  current: StoredSettings,
): Promise<void> {
  const { proxyKeys, ...plain } = patch;
  await writeSettings(db, {
    ...plain,
    ...(proxyKeys === undefined ? {} : { proxyKeys: storeProxyKeys(proxyKeys, current.proxyKeys) }),
  });
}

/** Settings as the API shows them: proxy keys masked, the egress proxy's credentials (write-only) masked. */
export function publicSettings(s: StoredSettings): Settings {
  return {
    ...s,
    proxyKeys: s.proxyKeys.map((k) => k.masked),
    proxyUrl: s.proxyUrl ? maskProxyUrl(s.proxyUrl) : s.proxyUrl,
  };
}
