import { setFlagsFromString } from 'node:v8';
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
  tuneGarbageCollector();
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

/**
 * Turns off V8's allocation-site pretenuring before the process serves anything. Under proxy load V8 decided to
 * allocate one per-request object straight in the old generation ("tenured" with a survival ratio of 1.0 in
 * `--trace-pretenuring`); from there it kept each request's young objects (sockets' requests and responses, body
 * buffers) alive through every scavenge until the next full collection: ~8 KB promoted per request, old space
 * growing 44 → 170 MB between mark-compacts, scavenges of 5–7 ms instead of ~1 ms, and about 40% of the gateway's
 * CPU per request (standalone, request logging off: 216 → 127 µs per request in one run; the same 64-connection
 * wrk load). With it off, request-scoped objects die young as they should. `KEYWAY_V8_PRETENURING=on` keeps V8's
 * default (to compare).
 */
export function tuneGarbageCollector(): void {
  if (process.env.KEYWAY_V8_PRETENURING === 'on') return;
  setFlagsFromString('--no-allocation-site-pretenuring');
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
