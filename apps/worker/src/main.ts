import { NotMigratedError } from '@keyway/db';
import { boot, fail, mountOpsRoutes, runMain, startServer } from '@keyway/server';
import { Hono } from 'hono';
import { startWorker } from './compose';
import type { WorkerProcess } from './compose';
import { readEnv } from './env';

const NAME = 'keyway-worker';

runMain(NAME, async () => {
  const { env, logger } = boot(NAME, readEnv);
  let worker: WorkerProcess;
  try {
    worker = await startWorker(env, logger);
  } catch (e) {
    if (e instanceof NotMigratedError) fail(NAME, e.message);
    throw e;
  }
  // The worker takes no traffic: its port serves the probes and metrics only.
  const app = new Hono();
  mountOpsRoutes(app, { metrics: worker.metrics, metricsToken: env.METRICS_TOKEN, checks: worker.checks });
  startServer({
    name: NAME,
    fetch: (request) => app.fetch(request),
    port: env.PORT,
    host: env.HOST,
    logger,
    shutdownTimeoutSeconds: env.SHUTDOWN_TIMEOUT_SECONDS,
    onShutdownStart: worker.beginShutdown,
    close: worker.close,
  });
});
