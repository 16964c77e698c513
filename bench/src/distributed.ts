/**
 * Starting Keyway in distributed mode for the benchmark: control plane + worker + one gateway as real processes
 * on the machine's PostgreSQL, Redis and NATS (a throw-away database and a random Redis/NATS prefix), configured
 * like the standalone target (one `bench` group, 3 keys).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, startProcess, type ManagedProcess } from '@keyway/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createBenchGroup, type KeywayTarget } from './keyway';
import { appStartEnv, benchDir, onAsyncCleanup, profileFlags } from './procs';

const repoRoot = resolve(benchDir, '..');
const dist = (app: string, file = 'main.js') => join(repoRoot, 'apps', app, 'dist', file);

const PG_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** Builds the three distributed apps when a bundle is missing. */
export function ensureDistributedBuilt(): void {
  const apps = ['gateway', 'control-plane', 'worker'];
  if (apps.every((a) => existsSync(dist(a)))) return;
  process.stderr.write('building the distributed apps…\n');
  const built = spawnSync(
    'pnpm',
    ['turbo', 'run', 'build', ...apps.map((a) => `--filter=@keyway/${a}`), '--output-logs=errors-only'],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  if (built.status !== 0) throw new Error('building the distributed apps failed');
}

/** A fresh PostgreSQL database, dropped at the end of the run. */
async function freshDatabase(): Promise<string> {
  const name = `kw_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  onAsyncCleanup(async () => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function start(app: string, env: Record<string, string>, port: number): Promise<ManagedProcess> {
  return startProcess({
    command: process.execPath,
    args: [...profileFlags(app), dist(app)],
    cwd: repoRoot,
    env: { ...appStartEnv(app), ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    readyUrl: `http://127.0.0.1:${port}/ready`,
    timeoutMs: 30_000,
  });
}

/** The distributed target: its gateway's URL, and the processes whose CPU the report shows. */
export async function startDistributed(upstreamUrl: string): Promise<
  Omit<KeywayTarget, 'createAccessKey' | 'createPoolGroup' | 'createTranslatedGroup'> & {
    others: ManagedProcess[];
  }
> {
  const databaseUrl = await freshDatabase();
  const prefix = `kwbench${randomBytes(4).toString('hex')}:`;
  onAsyncCleanup(async () => {
    const redis = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, names] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (names.length > 0) await redis.del(...names);
    } while (cursor !== '0');
    redis.disconnect();
  });
  const authKey = `bench-admin-Key-${randomBytes(12).toString('hex')}`;
  const encryptionKey = `bench-enc-${randomBytes(24).toString('hex')}`;
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    NATS_URL,
    REDIS_PREFIX: prefix,
    AUTH_KEY: authKey,
    ENCRYPTION_KEY: encryptionKey,
  };
  const migrated = spawnSync(process.execPath, [dist('control-plane', 'migrate.js')], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
  });
  if (migrated.status !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
  const [cpPort, workerPort, gwPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const controlPlane = await start('control-plane', env, cpPort);
  const worker = await start('worker', env, workerPort);
  const gateway = await start('gateway', env, gwPort);

  const base = `http://127.0.0.1:${cpPort}`;
  const { proxyKey, upstreamKeys } = await createBenchGroup(base, authKey, upstreamUrl);
  const url = `http://127.0.0.1:${gwPort}/proxy/bench/v1/chat/completions`;
  // The gateway picks the group up through NATS (or its 15 s poll): wait until it routes.
  for (const until = Date.now() + 20_000; ;) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${proxyKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.arrayBuffer();
    if (res.status === 200) break;
    if (Date.now() > until)
      throw new Error(`the distributed gateway does not route (last status ${res.status})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc: gateway, url, proxyKey, upstreamKeys, others: [controlPlane, worker] };
}
