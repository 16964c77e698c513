import { boot, startServer, twoPhaseFetch } from '@keyway/server';
import { honoProxyApp } from './app';
import { createProxyHandler, isProxyTarget } from './proxy-handler';
import type { ProxyHandler } from './proxy-handler';
import { startGateway } from './deps';
import { readEnv } from './env';

const { env, logger } = boot('keyway-gateway', readEnv);
const gateway = startGateway(env, logger);
// One handler once the dependencies are loaded: `/proxy/` and the key-routed `/v1`, `/v1beta` requests go to it
// before hono (the hot path), anything else reaching the hono routes (absolute-form targets) shares it — one
// concurrency count, one storm guard.
let proxy: ProxyHandler | null = null;
startServer({
  name: 'keyway-gateway',
  fetch: twoPhaseFetch({
    ops: { metrics: gateway.metrics, metricsToken: env.METRICS_TOKEN, checks: gateway.checks },
    build: () => {
      const deps = gateway.proxy();
      if (!deps) return null;
      proxy = createProxyHandler(deps);
      return honoProxyApp(proxy);
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
  direct: (req, res) => {
    if (!proxy || !isProxyTarget(req.url)) return false;
    void proxy(req, res);
    return true;
  },
});
