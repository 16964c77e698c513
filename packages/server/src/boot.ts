import { EnvError, isWeakSecret } from '@keyway/config';
import type { LogFormat, Logger, LogLevel } from '@keyway/observability';
import { createLogger } from '@keyway/observability';
import { fail } from './serve';

/** The env fields {@link boot} looks at; every app's env has the first two. */
export interface BootEnv {
  LOG_LEVEL: LogLevel;
  LOG_FORMAT: LogFormat;
  AUTH_KEY?: string | undefined;
  ENCRYPTION_KEY?: string | undefined;
  METRICS_TOKEN?: string | undefined;
}

/**
 * Reads an app's env (exiting with every problem listed when it is invalid), refuses a weak AUTH_KEY or
 * ENCRYPTION_KEY, and builds the logger with every configured secret registered for redaction.
 */
export function boot<E extends BootEnv>(name: string, readEnv: () => E): { env: E; logger: Logger } {
  let env: E;
  try {
    env = readEnv();
  } catch (e) {
    if (e instanceof EnvError) fail(name, e.message);
    throw e;
  }
  for (const key of ['AUTH_KEY', 'ENCRYPTION_KEY'] as const) {
    const value = env[key];
    const weak = value ? isWeakSecret(value) : null;
    if (weak?.level === 'refuse')
      fail(name, `${key} is too weak: ${weak.reason}. Use a long random value (openssl rand -hex 32).`);
  }
  const logger = createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT, name });
  logger.registerSecret(env.AUTH_KEY, 'authKey');
  logger.registerSecret(env.ENCRYPTION_KEY, 'encryptionKey');
  logger.registerSecret(env.METRICS_TOKEN, 'metricsToken');
  return { env, logger };
}

/** Runs an async main, printing a fatal error (stack included, never through the logger) and exiting 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(
      `${name}: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
