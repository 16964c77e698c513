import type { Settings, SettingsPatch } from '@keyway/contracts';
import type { Http } from './http';
import { settingsResponseSchema, settingsValuesSchema } from './schemas';
import type { SettingsResponse } from './schemas';

/** `/api/settings`: values with their schema; a PATCH answers the new values. */
export function createSettingsApi(http: Http) {
  return {
    get: (): Promise<SettingsResponse> => http.json('GET', '/api/settings', settingsResponseSchema),
    // Silent: the settings page shows validation errors on the fields themselves.
    update: async (patch: SettingsPatch): Promise<Settings> =>
      (await http.json('PATCH', '/api/settings', settingsValuesSchema, { body: patch, silent: true })).values,
  };
}
