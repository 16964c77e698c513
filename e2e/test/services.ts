// The services an end-to-end cluster runs on: a throw-away PostgreSQL database per test file, and — for tests
// that stop and restart them — private Redis and NATS servers on free ports (the shared ones are never touched).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, requireService, startProcess } from '@keyway/testing';
import type { ManagedProcess } from '@keyway/testing';
import { Redis } from 'ioredis';
import pg from 'pg';

const run = promisify(execFile);

/** Where the shared services are (overridable by env, as for the integration tests). */
export const SHARED = {
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  nats: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  postgres: process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
};

const BINARIES = {
  'redis-server': process.env.REDIS_SERVER_BIN ?? 'redis-server',
  'nats-server': process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server',
};

function onPath(command: string): boolean {
  if (command.includes('/')) return existsSync(command);
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/**
 * Gate for a test file: true when every named service answers and every named binary exists. Otherwise a loud
 * warning and false (the file skips), or — with CI set — an error, so CI never skips silently.
 */
export async function requireAll(
  services: ReadonlyArray<keyof typeof SHARED>,
  binaries: ReadonlyArray<keyof typeof BINARIES> = [],
): Promise<boolean> {
  let ok = true;
  for (const name of services) ok = (await requireService(name, SHARED[name])) && ok;
  for (const name of binaries) {
    if (onPath(BINARIES[name])) continue;
    if (process.env.CI) throw new Error(`${name} is required in CI but ${BINARIES[name]} was not found`);
    console.warn(`\n!! SKIPPING end-to-end tests that restart ${name}: ${BINARIES[name]} not found\n`);
    ok = false;
  }
  return ok;
}

/** A database of its own for one test file. */
export interface TempDatabase {
  name: string;
  url: string;
  /** Runs SQL on it (quoted camelCase column names, as in `prisma/postgresql/migrations`). */
  query<T extends object>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

async function asAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SHARED.postgres });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates `kw_e2e_<label>_<random>` on the shared PostgreSQL server. */
export async function createDatabase(label: string): Promise<TempDatabase> {
  const name = `kw_e2e_${label}_${randomBytes(4).toString('hex')}`;
  await asAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(SHARED.postgres);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  return {
    name,
    url: url.toString(),
    async query<T extends object>(sql: string, params: unknown[] = []) {
      return (await pool.query<T>(sql, params)).rows;
    },
    async drop() {
      await pool.end().catch(() => undefined);
      await asAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** Runs the control plane's `migrate` command against `databaseUrl`; returns how long it took. */
export async function migrate(migrateJs: string, databaseUrl: string): Promise<number> {
  const started = performance.now();
  await run(process.execPath, [migrateJs], { env: { ...process.env, DATABASE_URL: databaseUrl } });
  return performance.now() - started;
}

/** A server process this test file owns, restartable on the same port (and data directory). */
export interface PrivateServer {
  readonly url: string;
  readonly port: number;
  readonly running: boolean;
  start(): Promise<void>;
  /** SIGTERM (a clean shutdown: Redis writes its append-only file) or SIGKILL. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

function privateServer(
  url: string,
  port: number,
  launch: () => Promise<ManagedProcess>,
  cleanup: () => void = () => undefined,
): PrivateServer {
  let proc: ManagedProcess | null = null;
  const server: PrivateServer = {
    url,
    port,
    get running() {
      return proc !== null;
    },
    async start() {
      if (!proc) proc = await launch();
    },
    async stop(signal = 'SIGTERM') {
      const p = proc;
      proc = null;
      await p?.stop(signal, 5000);
    },
    async destroy() {
      await server.stop('SIGKILL');
      cleanup();
    },
  };
  return server;
}

/** A private `redis-server` on a free port, persisting to a temporary directory when `appendonly`. */
export async function startPrivateRedis(options: { appendonly: boolean }): Promise<PrivateServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kw-e2e-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
  args.push('--appendonly', options.appendonly ? 'yes' : 'no', '--protected-mode', 'no');
  const server = privateServer(
    `redis://127.0.0.1:${port}`,
    port,
    () => startProcess({ command: BINARIES['redis-server'], args, readyLine: /Ready to accept connections/ }),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  await server.start();
  return server;
}

/** A private `nats-server` (core NATS, no JetStream: Keyway's events are hints) on a free port. */
export async function startPrivateNats(): Promise<PrivateServer> {
  const port = await freePort();
  const server = privateServer(`nats://127.0.0.1:${port}`, port, () =>
    startProcess({
      command: BINARIES['nats-server'],
      args: ['-a', '127.0.0.1', '-p', String(port)],
      readyLine: /Server is ready/,
    }),
  );
  await server.start();
  return server;
}

/** Deletes every Redis key under `prefix` (the shared Redis is left as the file found it). */
export async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
