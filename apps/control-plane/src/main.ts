import { NotMigratedError } from '@keyway/db';
import { boot, fail, runMain, startServer, twoPhaseFetch } from '@keyway/server';
import { startControlPlane } from './deps';
import type { ControlPlaneProcess } from './deps';
import { EncryptionMismatchError } from './encryption';
import { readEnv } from './env';
import { KeyDecryptError } from './key-cipher';
import { createSite, defaultConsoleDir } from './site';

const NAME = 'keyway-control-plane';

runMain(NAME, async () => {
  const { env, logger } = boot(NAME, readEnv);
  let cp: ControlPlaneProcess;
  try {
    cp = await startControlPlane(env, logger);
  } catch (e) {
    const known = [EncryptionMismatchError, KeyDecryptError, NotMigratedError].some((k) => e instanceof k);
    if (known) fail(NAME, (e as Error).message);
    throw e;
  }
  startServer({
    name: NAME,
    fetch: twoPhaseFetch({
      ops: { metrics: cp.metrics, metricsToken: env.METRICS_TOKEN, checks: cp.checks },
      build: () => {
        const deps = cp.api();
        if (!deps) return null;
        const consoleDir = env.CONSOLE_DIR ?? defaultConsoleDir(import.meta.url);
        const site = createSite(deps, { corsOrigins: env.CORS_ORIGINS, consoleDir });
        if (!site.console) logger.info({ dir: consoleDir }, 'no console build found; serving the API only');
        return site.app;
      },
      logger,
      startingMessage: 'The control plane is starting: waiting for Redis',
    }),
    port: env.PORT,
    host: env.HOST,
    logger,
    shutdownTimeoutSeconds: env.SHUTDOWN_TIMEOUT_SECONDS,
    onShutdownStart: cp.beginShutdown,
    close: cp.close,
  });
});
