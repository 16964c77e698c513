import { describeSettings, settingsPatchSchema } from '@keyway/contracts';
import { AppError } from '@keyway/core';
import type { EgressPolicy } from '@keyway/core';
import { resolveProxyUrl, writePolicy } from './egress-policy';
import { Hono } from 'hono';
import type { CpEnv } from './context';
import { parseBody } from './http';
import { registerProxyKeys } from './secrets';
import { assertStrongProxyKeys } from './proxy-keys';
import { assertNotAccessKeys } from './access-keys';
import { loadSettings, publicSettings, saveSettings } from './settings-store';

/**
 * The egress proxy of a settings write: its masked form sent back (what a GET showed) stands for the stored URL;
 * any other masked value, or a proxy host the egress policy refuses, is a 400 on `proxyUrl`.
 */
function unmaskProxyUrl(url: string, stored: string | null, policy: EgressPolicy): string {
  const r = resolveProxyUrl(url, stored ? [stored] : [], policy);
  if (r.problem)
    throw AppError.validation([{ path: 'proxyUrl', message: r.problem }], 'The proxy URL is not allowed');
  return r.url;
}

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
    if (patch.proxyUrl)
      patch.proxyUrl = unmaskProxyUrl(patch.proxyUrl, current.proxyUrl, writePolicy(c, current));
    await assertNotAccessKeys(db, patch.proxyKeys);
    await saveSettings(db, patch, current);
    await c.var.audit('settings.update', 'settings', { keys: Object.keys(patch) });
    await c.var.deps.onConfigChanged();
    return c.json({ values: publicSettings(await loadSettings(db)) });
  });

  return app;
}
