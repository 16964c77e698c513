import { serve } from '@hono/node-server';
import { EnvError, isWeakSecret } from '@keyway/config';
import { EncryptionMismatchError, KeyDecryptError } from '@keyway/control-plane';
import { createLogger } from '@keyway/observability';
import { createApp } from './app';
import { resolveAuthKey } from './auth-key';
import { buildDeps } from './deps';
import { readEnv } from './env';
import type { Env } from './env';

function fail(message: string): never {
  process.stderr.write(`keyway: cannot start\n${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let env: Env;
  try {
    env = readEnv();
  } catch (e) {
    if (e instanceof EnvError) fail(e.message);
    throw e;
  }
  const logger = createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT, name: 'keyway' });
  let auth: ReturnType<typeof resolveAuthKey>;
  try {
    auth = resolveAuthKey(env.AUTH_KEY, env.DATA_DIR);
  } catch (e) {
    fail((e as Error).message);
  }
  logger.registerSecret(auth.key);
  if (auth.source === 'generated') {
    // Printed once, straight to the terminal (not through the redacting logger), so the operator can log in.
    process.stdout.write(
      `\n  Keyway generated an admin key (AUTH_KEY). It is shown only this once and kept in ${auth.file}:\n\n    ${auth.key}\n\n`,
    );
  }

  if (env.ENCRYPTION_KEY) {
    const weak = isWeakSecret(env.ENCRYPTION_KEY);
    if (weak?.level === 'refuse')
      fail(`ENCRYPTION_KEY is too weak: ${weak.reason}. Use a long random value (openssl rand -hex 32).`);
    logger.registerSecret(env.ENCRYPTION_KEY);
  }

  let deps: Awaited<ReturnType<typeof buildDeps>>;
  try {
    deps = await buildDeps(env, auth.key, logger);
  } catch (e) {
    if (e instanceof EncryptionMismatchError || e instanceof KeyDecryptError) fail(e.message);
    throw e;
  }
  const app = createApp(deps);
  const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) => {
    logger.info(
      { port: info.port, host: env.HOST },
      `Keyway standalone listening on http://${env.HOST === '0.0.0.0' ? 'localhost' : env.HOST}:${info.port}`,
    );
  });
  server.on('error', (err) => fail(`could not listen on ${env.HOST}:${env.PORT}: ${(err as Error).message}`));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const deadline = setTimeout(() => {
      logger.warn({}, 'shutdown timeout reached; closing remaining connections');
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    }, env.SHUTDOWN_TIMEOUT_SECONDS * 1000);
    deadline.unref();
    (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    server.close(() => {
      clearTimeout(deadline);
      void deps.close().finally(() => {
        logger.info({}, 'stopped');
        process.exit(0);
      });
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`keyway: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
