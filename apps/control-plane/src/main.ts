import { EnvError, isWeakSecret } from '@keyway/config';
import { createLogger } from '@keyway/observability';
import { fail, startServer, twoPhaseFetch } from '@keyway/server';
import { startControlPlane } from './deps';
import type { ControlPlaneProcess } from './deps';
import { EncryptionMismatchError } from './encryption';
import { KeyDecryptError } from './key-cipher';
import { readEnv } from './env';
import type { Env } from './env';
import { createSite } from './site';

const NAME = 'keyway-control-plane';

function env(): Env {
  try {
    return readEnv();
  } catch (e) {
    if (e instanceof EnvError) fail(NAME, e.message);
    throw e;
  }
}

async function main(): Promise<void> {
  const config = env();
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, name: NAME });
  const weakAuth = isWeakSecret(config.AUTH_KEY);
  if (weakAuth?.level === 'refuse')
    fail(NAME, `AUTH_KEY is too weak: ${weakAuth.reason}. Use a long random value (openssl rand -hex 32).`);
  logger.registerSecret(config.AUTH_KEY);
  if (config.ENCRYPTION_KEY) {
    if (isWeakSecret(config.ENCRYPTION_KEY)?.level === 'refuse')
      fail(NAME, 'ENCRYPTION_KEY is too weak. Use a long random value (openssl rand -hex 32).');
    logger.registerSecret(config.ENCRYPTION_KEY);
  }
  if (config.METRICS_TOKEN) logger.registerSecret(config.METRICS_TOKEN);

  let cp: ControlPlaneProcess;
  try {
    cp = await startControlPlane(config, logger);
  } catch (e) {
    if (e instanceof EncryptionMismatchError || e instanceof KeyDecryptError) fail(NAME, e.message);
    if (e instanceof Error && e.name === 'NotMigratedError') fail(NAME, e.message);
    throw e;
  }
  const fetch = twoPhaseFetch({
    ops: { metrics: cp.metrics, metricsToken: config.METRICS_TOKEN, checks: cp.checks },
    build: () => {
      const deps = cp.api();
      if (!deps) return null;
      const site = createSite(deps, { corsOrigins: config.CORS_ORIGINS, consoleDir: config.CONSOLE_DIR });
      if (!site.console)
        logger.info({ dir: config.CONSOLE_DIR }, 'no console build found; serving the API only');
      return site.app;
    },
    logger,
    startingMessage: 'The control plane is starting: waiting for Redis',
  });
  startServer({
    name: NAME,
    fetch,
    port: config.PORT,
    host: config.HOST,
    logger,
    shutdownTimeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS,
    onShutdownStart: cp.beginShutdown,
    close: cp.close,
  });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${NAME}: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
