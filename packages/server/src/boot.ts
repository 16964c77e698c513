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
  let env: E;
  try {
    tuneGarbageCollector();
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
 * Tunes V8's garbage collector before the process serves anything.
 *
 * Allocation-site pretenuring off: under proxy load V8 decided to allocate one per-request object straight in the
 * old generation ("tenured" with a survival ratio of 1.0 in `--trace-pretenuring`); from there it kept each
 * request's young objects (sockets' requests and responses, body buffers) alive through every scavenge until the
 * next full collection: ~8 KB promoted per request, old space growing 44 → 170 MB between mark-compacts, scavenges
 * of 5–7 ms instead of ~1 ms, and about 40% of the gateway's CPU per request (standalone, request logging off:
 * 216 → 127 µs per request in one run; the same 64-connection wrk load). With it off, request-scoped objects die
 * young as they should. `KEYWAY_V8_PRETENURING=on` keeps V8's default (to compare).
 *
 * Heap growing factor 1.3: after a full collection V8 lets the old generation grow by a factor it picks (up to 4×
 * for a small heap) before the next one. Standalone under load kept ~42 MB live and let the heap grow to ~130 MB of
 * garbage between collections (RSS 365 MiB after 30 s); at 1.3× it collects every ~4 s (~10 ms each, well under 1%
 * of the CPU) and held 286 MiB. `KEYWAY_V8_HEAP_GROWING_PERCENT` sets another percentage (`0`: V8's own choice).
 */
export function tuneGarbageCollector(env: NodeJS.ProcessEnv = process.env): void {
  if (env.KEYWAY_V8_PRETENURING !== 'on') setFlagsFromString('--no-allocation-site-pretenuring');
  const raw = env.KEYWAY_V8_HEAP_GROWING_PERCENT;
  const percent = raw === undefined || raw === '' ? DEFAULT_HEAP_GROWING_PERCENT : Number(raw);
  if (!Number.isInteger(percent) || percent < 0 || percent > 400)
    throw new EnvError([
      {
        variable: 'KEYWAY_V8_HEAP_GROWING_PERCENT',
        message: `must be a whole number from 0 (V8's own choice) to 400 (got "${raw}")`,
      },
    ]);
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** The old generation grows by at most 30% of what a full collection left before the next one. */
const DEFAULT_HEAP_GROWING_PERCENT = 30;

/** Runs an async main, printing a fatal error (stack included, never through the logger) and exiting 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(
      `${name}: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
