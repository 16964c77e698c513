import { boot, startServer, twoPhaseFetch } from '@keyway/server';
import { createApp } from './app';
import { startGateway } from './deps';
import { readEnv } from './env';

const { env, logger } = boot('keyway-gateway', readEnv);
const gateway = startGateway(env, logger);
startServer({
  name: 'keyway-gateway',
  fetch: twoPhaseFetch({
    ops: { metrics: gateway.metrics, metricsToken: env.METRICS_TOKEN, checks: gateway.checks },
    build: () => {
      const deps = gateway.proxy();
      return deps ? createApp(deps) : null;
    },
    logger,
    startingMessage: 'The gateway is starting: key pool or configuration not loaded yet',
  }),
  port: env.PORT,
  host: env.HOST,
  logger,
  shutdownTimeoutSeconds: env.SHUTDOWN_TIMEOUT_SECONDS,
  onShutdownStart: gateway.beginShutdown,
  close: gateway.close,
});
