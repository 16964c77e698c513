// Test-only: a throw-away SQLite database (or a given one), an in-memory key pool and a fake upstream, wired as
// WorkerDeps.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel, HeaderRule, KeyStatus } from '@keyway/contracts';
import type { LogPort } from '@keyway/core';
import { maskSecret } from '@keyway/core';
import type { ApiKey, DbClient } from '@keyway/db';
import { applyMigrations, createPrismaClient } from '@keyway/db';
import { MemoryKeyPool } from '@keyway/keypool';
import type { FakeUpstream } from '@keyway/testing';
import { startFakeUpstream } from '@keyway/testing';
import type { WorkerDeps } from '../deps';
import type { ValidationTarget } from '../groups';
import { toValidationTarget } from '../groups';
import type { ValidationSettings } from '../settings';

/** One logged line. */
export interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

/** What a test group may set; everything else gets a working default pointing at the fake. */
export interface GroupOptions {
  name?: string;
  channel?: Channel;
  type?: 'standard' | 'aggregate';
  upstreams?: Array<{ url: string; weight: number }>;
  headerRules?: HeaderRule[];
  /** Group overrides of the validation settings. */
  config?: Partial<ValidationSettings>;
  lastValidatedAt?: Date | null;
}

/** What a test key may set besides its value. */
export interface KeyOptions {
  status?: KeyStatus;
  cooldownUntil?: number | null;
  lastError?: string | null;
  failureCount?: number;
  /** Stored instead of the value (e.g. to make it undecryptable). */
  stored?: string;
}

/** A database, key pool and fake upstream wired as WorkerDeps, with helpers to add groups and keys. */
export interface Fixture {
  db: DbClient;
  pool: MemoryKeyPool;
  fake: FakeUpstream;
  /** What `deps.loadSettings` returns; tests change it. */
  settings: Partial<ValidationSettings>;
  logs: LogLine[];
  deps: WorkerDeps;
  addGroup(options?: GroupOptions): Promise<ValidationTarget>;
  addKey(groupId: number, value: string, options?: KeyOptions): Promise<number>;
  keyRow(id: number): Promise<ApiKey>;
  close(): Promise<void>;
}

/** Stored values with this prefix make `keyCipher.open` throw, as a wrong ENCRYPTION_KEY would. */
export const UNDECRYPTABLE = 'enc:v1:garbled:';
/** What `keyCipher.seal` puts before a key (values added by `addKey` are stored plain unless `stored` is given). */
export const SEALED = 'sealed:';

/** The fixture cipher's hash of a key. */
export const keyHash = (value: string): string => createHash('sha256').update(value).digest('hex');

let groupSeq = 0;

/** Options of {@link createFixture}. */
export interface FixtureOptions {
  /** The database to use (migrated here, never dropped); default: a new SQLite file deleted by `close()`. */
  databaseUrl?: string;
}

/** Creates a fixture; call `close()` after the test. */
export async function createFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const dir = options.databaseUrl ? null : mkdtempSync(join(tmpdir(), 'keyway-worker-'));
  const url = options.databaseUrl ?? `file:${join(dir ?? '', 'keyway.db')}`;
  await applyMigrations(url);
  const conn = createPrismaClient(url);
  const db = conn.prisma;
  const pool = new MemoryKeyPool();
  const fake = await startFakeUpstream();
  const settings: Partial<ValidationSettings> = {};
  const logs: LogLine[] = [];
  const line =
    (level: LogLine['level']) =>
    (obj: object, msg?: string): void => {
      logs.push({ level, obj, msg });
    };
  const logger: LogPort = { info: line('info'), warn: line('warn'), error: line('error') };
  const deps: WorkerDeps = {
    db,
    keyPool: pool,
    dbProvider: conn.provider,
    keyCipher: {
      open(stored) {
        if (stored.startsWith(UNDECRYPTABLE)) throw new Error(`cannot decrypt ${stored}`);
        return stored.startsWith(SEALED) ? stored.slice(SEALED.length) : stored;
      },
      seal: (plain) => `${SEALED}${plain}`,
      hash: keyHash,
    },
    loadSettings: () => Promise.resolve({ ...settings }),
    logger,
  };

  return {
    db,
    pool,
    fake,
    settings,
    logs,
    deps,
    async addGroup(o = {}) {
      const row = await db.group.create({
        data: {
          name: o.name ?? `group-${++groupSeq}`,
          type: o.type ?? 'standard',
          channel: o.channel ?? 'openai',
          upstreams: o.upstreams ?? [{ url: fake.url, weight: 1 }],
          proxyKeys: [],
          paramOverrides: {},
          modelRedirects: {},
          headerRules: o.headerRules ?? [],
          config: o.config ?? {},
          lastValidatedAt: o.lastValidatedAt ?? null,
        },
      });
      const target = toValidationTarget(row);
      if (!target) throw new Error('fixture group has an unknown channel');
      return target;
    },
    async addKey(groupId, value, o = {}) {
      const status = o.status ?? 'active';
      const row = await db.apiKey.create({
        data: {
          groupId,
          keyValue: o.stored ?? value,
          keyHash: keyHash(value),
          keyMasked: maskSecret(value),
          status,
          failureCount: o.failureCount ?? 0,
          lastError: o.lastError ?? null,
          cooldownUntil: o.cooldownUntil == null ? null : new Date(o.cooldownUntil),
        },
      });
      await pool.add(groupId, [
        {
          id: row.id,
          groupId,
          value,
          status,
          failureCount: o.failureCount ?? 0,
          cooldownUntil: o.cooldownUntil ?? null,
          lastError: o.lastError ?? null,
        },
      ]);
      return row.id;
    },
    async keyRow(id) {
      return db.apiKey.findUniqueOrThrow({ where: { id } });
    },
    async close() {
      await Promise.allSettled([fake.close(), pool.close(), conn.close()]);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
