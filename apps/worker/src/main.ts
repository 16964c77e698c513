import { Hono } from 'hono';
import { EnvError, isWeakSecret } from '@keyway/config';
import { createLogger } from '@keyway/observability';
import { fail, mountOpsRoutes, startServer } from '@keyway/server';
import { startWorker } from './compose';
import type { WorkerProcess } from './compose';
import { readEnv } from './env';
import type { Env } from './env';

const NAME = 'keyway-worker';

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
  if (config.ENCRYPTION_KEY) {
    if (isWeakSecret(config.ENCRYPTION_KEY)?.level === 'refuse')
      fail(NAME, 'ENCRYPTION_KEY is too weak. Use a long random value (openssl rand -hex 32).');
    logger.registerSecret(config.ENCRYPTION_KEY);
  }
  if (config.METRICS_TOKEN) logger.registerSecret(config.METRICS_TOKEN);
  let worker: WorkerProcess;
  try {
    worker = await startWorker(config, logger);
  } catch (e) {
    if (e instanceof Error && e.name === 'NotMigratedError') fail(NAME, e.message);
    throw e;
  }
  // The worker takes no traffic: its port serves the probes and metrics only.
  const app = new Hono();
  mountOpsRoutes(app, { metrics: worker.metrics, metricsToken: config.METRICS_TOKEN, checks: worker.checks });
  startServer({
    name: NAME,
    fetch: (request) => app.fetch(request),
    port: config.PORT,
    host: config.HOST,
    logger,
    shutdownTimeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS,
    onShutdownStart: worker.beginShutdown,
    close: worker.close,
  });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${NAME}: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
