import { describeSettings, settingsPatchSchema } from '@keyway/contracts';
import { Hono } from 'hono';
import type { CpEnv } from './context';
import { parseBody } from './http';
import { registerProxyKeys } from './secrets';
import { assertStrongProxyKeys } from './proxy-keys';
import { assertNotAccessKeys } from './access-keys';
import { loadSettings, publicSettings, saveSettings } from './settings-store';

/** `GET/PATCH /api/settings`: values plus the schema the console renders. */
export function settingsRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();

  app.get('/', async (c) => {
    const settings = await loadSettings(c.var.deps.db);
    return c.json({ values: publicSettings(settings), schema: describeSettings() });
  });

  app.patch('/', async (c) => {
    const patch = await parseBody(c, settingsPatchSchema);
    registerProxyKeys(c.var.deps, patch.proxyKeys);
    const { db } = c.var.deps;
    const current = await loadSettings(db);
    if (patch.proxyKeys) assertStrongProxyKeys(patch.proxyKeys, current.proxyKeys);
    await assertNotAccessKeys(db, patch.proxyKeys);
    await saveSettings(db, patch, current);
    await c.var.audit('settings.update', 'settings', { keys: Object.keys(patch) });
    await c.var.deps.onConfigChanged();
    return c.json({ values: publicSettings(await loadSettings(db)) });
  });

  return app;
}
