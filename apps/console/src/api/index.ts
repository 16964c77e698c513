import { createAccessKeysApi } from './access-keys';
import { createAlertsApi } from './alerts';
import { createAuthApi } from './auth';
import { createDashboardApi } from './dashboard';
import { createGroupsApi } from './groups';
import { createHttp } from './http';
import { createImportsApi } from './imports';
import type { HttpHooks } from './http';
import { createKeysApi } from './keys';
import { createLogsApi } from './logs';
import { createPricesApi } from './prices';
import { createSettingsApi } from './settings';
import { createTasksApi } from './tasks';

/** Filled in by main.ts (toasts, 401 → login, Accept-Language); kept apart so views never import the router. */
export const apiHooks: HttpHooks = {};

/** The console's one API client: same origin as the page. */
export const http = createHttp({ baseUrl: '', hooks: apiHooks });

export const api = {
  auth: createAuthApi(http),
  groups: createGroupsApi(http),
  keys: createKeysApi(http),
  logs: createLogsApi(http),
  settings: createSettingsApi(http),
  dashboard: createDashboardApi(http),
  tasks: createTasksApi(http),
  accessKeys: createAccessKeysApi(http),
  prices: createPricesApi(http),
  alerts: createAlertsApi(http),
  imports: createImportsApi(http),
};
