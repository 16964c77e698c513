import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NatsBus } from '@keyway/bus';
import { applyMigrations, createPrismaClient } from '@keyway/db';
import type { ImportResult } from '@keyway/gpt-load-import';
import { writeGptLoadFixture, type GptLoadFixture } from '@keyway/gpt-load-import/testing';
import { createKeyCipher, RedisConfigStore, RedisKeyPool } from '@keyway/keypool';
import { busPrefixOf } from '@keyway/server/infra';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './harness';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const importJs = join(appDir, 'dist', 'import-gpt-load.js');
const KEY = 'gpt-load-fixture-key-2025';
const execFileAsync = promisify(execFile);

let tmp: ReturnType<typeof tempDir>;
let fx: GptLoadFixture;

/** Runs the built command in the temp dir with standalone's defaults (./data/keyway.db, ./data/encryption-key). */
function run(...args: string[]) {
  const r = spawnSync(process.execPath, [importJs, '--', ...args], {
    cwd: tmp.dir,
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON result printed after the readable lines. */
function resultOf(stdout: string): ImportResult {
  return JSON.parse(stdout.slice(stdout.indexOf('\n{\n') + 1)) as ImportResult;
}

async function withDb<T>(
  fn: (db: ReturnType<typeof createPrismaClient>['prisma']) => Promise<T>,
): Promise<T> {
  const conn = createPrismaClient(`file:${join(tmp.dir, 'data', 'keyway.db')}`);
  try {
    return await fn(conn.prisma);
  } finally {
    await conn.close();
  }
}

beforeAll(async () => {
  tmp = tempDir('import-gpt-load');
  fx = await writeGptLoadFixture({ dialect: 'sqlite', encryptionKey: KEY });
});
afterAll(async () => {
  await fx?.cleanup();
  tmp?.cleanup();
});

// Each case spawns the built command (key derivation on both sides: a few seconds).
describe('pnpm import:gpt-load', { timeout: 120_000 }, () => {
  it('refuses a wrong encryption key with a clear message and writes nothing', async () => {
    const r = run('--from', fx.from, '--encryption-key', 'not-the-right-key');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/import:gpt-load failed: .*(encryption key|ENCRYPTION_KEY)/i);
    expect(r.stderr + r.stdout).not.toContain('not-the-right-key');
    expect(await withDb((db) => db.group.count())).toBe(0);
  });

  it('--dry-run prints the plan and the result, and writes nothing', async () => {
    const r = run('--from', fx.from, '--encryption-key', KEY, '--dry-run');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}openai \(openai\): 1 upstream/m);
    expect(r.stdout).toMatch(/groups: \d+ would be created/);
    expect(resultOf(r.stdout).groups.created).toBe(fx.expected.groups.length);
    expect(await withDb((db) => db.group.count())).toBe(0);
  });

  it('imports into the standalone database with its kept key, prints no secret, and is idempotent', async () => {
    const r = run('--from', fx.from, '--encryption-key', KEY, '--logs');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const result = resultOf(r.stdout);
    expect(result.groups).toEqual({ created: fx.expected.groups.length, skipped: 0 });
    expect(result.proxyKeys.weak).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/warning: security: weak proxy keys/);
    for (const s of [KEY, ...fx.expected.globalProxyKeys, ...fx.expected.keys.map((k) => k.keyValue ?? KEY)])
      expect(r.stdout).not.toContain(s);
    // Sealed with the key standalone generated in DATA_DIR, so the server will open them.
    const keyway = createKeyCipher(readFileSync(join(tmp.dir, 'data', 'encryption-key'), 'utf8').trim());
    const stored = await withDb((db) => db.apiKey.findMany({ select: { keyValue: true } }));
    expect(stored.length).toBe(result.keys.added);
    const plain = new Set(fx.expected.keys.map((k) => k.keyValue));
    for (const k of stored) expect(plain.has(keyway.open(k.keyValue))).toBe(true);
    expect(await withDb((db) => db.requestLog.count())).toBeGreaterThan(0);

    const again = run('--from', fx.from, '--encryption-key', KEY);
    expect(again.status).toBe(0);
    const second = resultOf(again.stdout);
    expect(second.groups).toEqual({ created: 0, skipped: fx.expected.groups.length });
    expect(second.keys.added).toBe(0);
    expect(await withDb((db) => db.apiKey.count())).toBe(stored.length);
  });
});

describe('pnpm import:gpt-load in distributed mode (NATS_URL set)', { timeout: 120_000 }, () => {
  it('puts the keys in the Redis pool and announces a new configuration snapshot on NATS', async () => {
    const prefix = `kwimp${randomBytes(4).toString('hex')}:`;
    const encryptionKey = 'Keyway-distributed-import-Key-8c2e5a7f';
    const url = `file:${join(tmp.dir, 'distributed.db')}`;
    await applyMigrations(url);
    const redis = new Redis('redis://127.0.0.1:6379');
    const bus = await NatsBus.connect({ url: 'nats://127.0.0.1:4222', prefix: busPrefixOf(prefix) });
    const announced: number[] = [];
    bus.subscribe('config.changed', (m) => void announced.push(m.version));
    await bus.flush();
    try {
      const r = await execFileAsync(
        process.execPath,
        [importJs, '--', '--from', fx.from, '--encryption-key', KEY],
        {
          cwd: tmp.dir,
          env: {
            PATH: process.env.PATH ?? '',
            DATABASE_URL: url,
            ENCRYPTION_KEY: encryptionKey,
            NATS_URL: 'nats://127.0.0.1:4222',
            REDIS_URL: 'redis://127.0.0.1:6379',
            REDIS_PREFIX: prefix,
          },
          encoding: 'utf8',
          timeout: 90_000,
        },
      );
      const version = Number(/announced configuration version (\d+)/.exec(r.stdout)?.[1]);
      expect(version).toBeGreaterThan(0);
      expect(await new RedisConfigStore(redis, prefix).version()).toBe(version);
      await expect.poll(() => announced).toContain(version);
      const cipher = createKeyCipher(encryptionKey);
      const pool = await RedisKeyPool.create({ redis, prefix, codec: cipher });
      const conn = createPrismaClient(url);
      const openai = await conn.prisma.group.findUniqueOrThrow({ where: { name: 'openai' } });
      const stored = await conn.prisma.apiKey.count({ where: { groupId: openai.id } });
      await conn.close();
      expect(pool.stats(openai.id).total).toBe(stored);
      await pool.close();
    } finally {
      await bus.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});
