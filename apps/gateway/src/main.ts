import { EnvError, isWeakSecret } from '@keyway/config';
import { createLogger } from '@keyway/observability';
import { fail, startServer, twoPhaseFetch } from '@keyway/server';
import { createApp } from './app';
import { startGateway } from './deps';
import { readEnv } from './env';
import type { Env } from './env';

const NAME = 'keyway-gateway';

function env(): Env {
  try {
    return readEnv();
  } catch (e) {
    if (e instanceof EnvError) fail(NAME, e.message);
    throw e;
  }
}

function main(): void {
  const config = env();
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, name: NAME });
  if (config.ENCRYPTION_KEY) {
    if (isWeakSecret(config.ENCRYPTION_KEY)?.level === 'refuse')
      fail(NAME, 'ENCRYPTION_KEY is too weak. Use a long random value (openssl rand -hex 32).');
    logger.registerSecret(config.ENCRYPTION_KEY);
  }
  if (config.METRICS_TOKEN) logger.registerSecret(config.METRICS_TOKEN);

  const gateway = startGateway(config, logger);
  const fetch = twoPhaseFetch({
    ops: { metrics: gateway.metrics, metricsToken: config.METRICS_TOKEN, checks: gateway.checks },
    build: () => {
      const deps = gateway.proxy();
      return deps ? createApp(deps) : null;
    },
    logger,
    startingMessage: 'The gateway is starting: key pool or configuration not loaded yet',
  });
  startServer({
    name: NAME,
    fetch,
    port: config.PORT,
    host: config.HOST,
    logger,
    shutdownTimeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS,
    onShutdownStart: gateway.beginShutdown,
    close: gateway.close,
  });
}

main();
