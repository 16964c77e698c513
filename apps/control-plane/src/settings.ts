import { describeSettings, settingsPatchSchema } from '@keyway/contracts';
import { Hono } from 'hono';
import type { CpEnv } from './context';
import { parseBody } from './http';
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
    const { db } = c.var.deps;
    await saveSettings(db, patch, await loadSettings(db));
    await c.var.audit('settings.update', 'settings', { keys: Object.keys(patch) });
    await c.var.deps.onConfigChanged();
    return c.json({ values: publicSettings(await loadSettings(db)) });
  });

  return app;
}
