// Test-only: the admin API over a real database (a throw-away SQLite file unless a URL is given) and an in-memory
// key pool.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DbClient, KeyStateRow } from '@keyway/db';
import { applyMigrations, createPrismaClient, writeKeyStates } from '@keyway/db';
import type { HealthPolicy } from '@keyway/core';
import { MemoryKeyPool } from '@keyway/keypool';
import type { Mock } from 'vitest';
import { vi } from 'vitest';
import { createApp } from '../app';
import type { ControlPlaneDeps } from '../context';
import type { LogPort } from '@keyway/core';
import type { KeyCipher } from '../key-cipher';
import { plainKeyCipher } from '../key-cipher';

export const AUTH_KEY = 'kw-admin-test-key-7f3a9c1e5b2d4f60';

/** The health policy the gateway uses by default (settings defaults). */
export const POLICY: HealthPolicy = {
  blacklistThreshold: 3,
  rateLimitCooldownSeconds: 5,
  rateLimitMaxCooldownSeconds: 300,
  quotaCooldownMinutes: 60,
};

export type ControlPlaneApp = ReturnType<typeof createApp>;

export interface ReqOptions {
  /** `true` (default): `Authorization: Bearer <AUTH_KEY>`; `false`: no credentials; a string: that bearer token. */
  auth?: boolean | string;
  /** Sent as the body verbatim instead of `JSON.stringify(body)`. */
  raw?: string;
  /** `Cookie` header value, e.g. `kw_session=…`. */
  cookie?: string;
  headers?: Record<string, string>;
}

export interface Res<T> {
  status: number;
  /** The parsed JSON body (`null` for an empty body); typed by the caller, not checked. */
  json: T;
  /** The raw body text, for "the secret appears nowhere" checks. */
  text: string;
  headers: Headers;
}

export type Requester = <T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  options?: ReqOptions,
) => Promise<Res<T>>;

/** A `req(method, path, body?, options?)` helper over `app.request()`. */
export function createRequester(app: ControlPlaneApp, authKey = AUTH_KEY): Requester {
  return async <T = unknown>(method: string, path: string, body?: unknown, options: ReqOptions = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    const auth = options.auth ?? true;
    if (auth !== false) headers.authorization = `Bearer ${auth === true ? authKey : auth}`;
    if (options.cookie !== undefined) headers.cookie = options.cookie;
    let payload: string | undefined;
    if (options.raw !== undefined) payload = options.raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    // The bindings object stands in for @hono/node-server's (no `incoming`: every client IP is '').
    const res = await app.request(path, { method, headers, body: payload }, {});
    const text = await res.text();
    return {
      status: res.status,
      json: parseJsonOrNull(text) as T,
      text,
      headers: res.headers,
    };
  };
}

export interface Fixture {
  app: ControlPlaneApp;
  req: Requester;
  db: DbClient;
  keyPool: MemoryKeyPool;
  deps: ControlPlaneDeps;
  authKey: string;
  /** The `onConfigChanged` spy. */
  onConfigChanged: Mock<() => Promise<void>>;
  /** Everything the app logged at error level (a 500 leaves a trace here). */
  loggedErrors: object[];
  /** Empties every table and the key pool, resets the spy; the app (and its login limiter) stays. */
  reset(): Promise<void>;
  /** Disconnects; deletes the database file when the fixture created it (a given `databaseUrl` is left alone). */
  close(): Promise<void>;
}

export interface FixtureOptions {
  /**
   * The database to run on (`file:`, `postgresql://`, `mysql://`): migrated here, emptied by `reset()`, never
   * dropped (its owner drops it, e.g. a `createTempDatabase()` from ./databases). Default: a new SQLite file in
   * a temporary directory, deleted by `close()`.
   */
  databaseUrl?: string;
  /** How keys are stored (default: plain, no ENCRYPTION_KEY). */
  keyCipher?: KeyCipher;
}

/** One per test file: `beforeAll(async () => { fx = await createFixture(); })`, `afterAll(() => fx.close())`. */
export async function createFixture(options: FixtureOptions = {}): Promise<Fixture> {
  let dir: string | null = null;
  let url = options.databaseUrl;
  if (url === undefined) {
    dir = mkdtempSync(join(tmpdir(), 'keyway-cp-test-'));
    url = `file:${join(dir, 'control-plane.db')}`;
  }
  await applyMigrations(url);
  const conn = createPrismaClient(url);
  const db = conn.prisma;
  const keyPool = new MemoryKeyPool();

  // Like the standalone app: key health changes are buffered and written on flush.
  const pending = new Map<number, KeyStateRow>();
  keyPool.onChange((c) => {
    pending.set(c.keyId, {
      keyId: c.keyId,
      status: c.status,
      failureCount: c.failureCount,
      cooldownUntil: c.cooldownUntil,
      lastError: c.lastError,
      modelCooling: c.modelCooling,
    });
  });
  const flushKeyStates = async (): Promise<void> => {
    const batch = [...pending.values()];
    pending.clear();
    await writeKeyStates(db, batch);
  };

  const loggedErrors: object[] = [];
  const logger: LogPort = {
    info: () => {},
    warn: () => {},
    error: (obj) => {
      loggedErrors.push(obj);
    },
  };
  const onConfigChanged = vi.fn<() => Promise<void>>(() => Promise.resolve());
  const deps: ControlPlaneDeps = {
    db,
    dbProvider: conn.provider,
    keyPool,
    authKey: AUTH_KEY,
    keyCipher: options.keyCipher ?? plainKeyCipher,
    logger,
    onConfigChanged,
    flushKeyStates,
  };
  const app = createApp(deps);

  return {
    app,
    req: createRequester(app),
    db,
    keyPool,
    deps,
    authKey: AUTH_KEY,
    onConfigChanged,
    loggedErrors,
    async reset() {
      const groups = await db.group.findMany({ select: { id: true } });
      for (const g of groups) await keyPool.dropGroup(g.id);
      pending.clear();
      await db.$transaction([
        db.groupSubGroup.deleteMany(),
        db.apiKey.deleteMany(),
        db.group.deleteMany(),
        db.setting.deleteMany(),
        db.requestLog.deleteMany(),
        db.hourlyStat.deleteMany(),
        db.auditLog.deleteMany(),
        db.accessKey.deleteMany(),
        db.modelPrice.deleteMany(),
      ]);
      onConfigChanged.mockClear();
      loggedErrors.length = 0;
    },
    async close() {
      await keyPool.close();
      await conn.close();
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A minimal valid standard group body. */
export function standardGroup(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    channel: 'openai',
    upstreams: [{ url: 'https://api.openai.example/v1', weight: 1 }],
    ...extra,
  };
}

/** Error envelope of the admin API. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Array<{ path: string; message: string }> };
}

/** Parses a JSON body; null for an empty or non-JSON one (CSV, plain-text exports). */
function parseJsonOrNull(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
