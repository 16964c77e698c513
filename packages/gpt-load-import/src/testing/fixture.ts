/**
 * `writeGptLoadFixture`: a realistic GPT-Load 1.4.9 database in SQLite, MySQL or PostgreSQL, stored exactly as
 * GPT-Load stores it (DDL per dialect, Go datetime text with nanoseconds and a +08:00 offset on SQLite, naive
 * DATETIME(3) on MySQL, JSON text / JSONB, 0/1 booleans, AES-GCM ciphertext under an ENCRYPTION_KEY), plus the
 * snapshot `readGptLoad` must return for it. Each call makes its own file or database; `cleanup()` removes it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  GptLoadGroup,
  GptLoadHourlyStat,
  GptLoadKey,
  GptLoadRequestLog,
  GptLoadSetting,
  GptLoadSubGroup,
} from '../types';
import type { FixtureDialect } from './ddl';
import { GLOBAL_PROXY_KEYS, groupDefs, settingRows, subGroupRows, WEAK_PROXY_KEYS } from './groups';
import { hourlyRows, keyRows, logRows } from './traffic';
import { writeMysql, writePostgres, writeSqlite, type TableRows } from './writers';

export type { FixtureDialect } from './ddl';

/** Options of `writeGptLoadFixture`; only `dialect` is required. */
export interface GptLoadFixtureOptions {
  dialect: FixtureDialect;
  /** GPT-Load's ENCRYPTION_KEY; without it keys are stored in plaintext with SHA-256 hashes. */
  encryptionKey?: string;
  /** Number of api_keys rows (default 14, the hand-written ones; more are generated, every 10th invalid). */
  keys?: number;
  /** request_logs rows (default 24, spread over 08:00–08:18 UTC; 0 = none). Hourly stats follow the logs. */
  logs?: number;
  /**
   * With `encryptionKey`: two more keys as an upgraded GPT-Load leaves them — one still plaintext (written before
   * ENCRYPTION_KEY was set), one under an older key (undecryptable, `keyValue: null`).
   */
  legacy?: boolean;
  /** `from` as a URL / file path (default), or as GPT-Load's own DATABASE_DSN (`root@tcp(host:port)/db?…`). */
  dsnStyle?: 'url' | 'gpt-load';
  /** SQLite: UTC offset GPT-Load's process wrote datetimes in (default `+08:00`, the .env.example TZ). */
  tz?: string;
  /** MySQL: zone of the naive DATETIMEs, passed as the DSN's `loc` (default UTC, the Go driver's default). */
  mysqlTimeZone?: string;
  /** MySQL server (default `mysql://root@127.0.0.1:3306`); a database `gptload_fx_…` is created in it. */
  mysqlUrl?: string;
  /** PostgreSQL server (default `postgres://postgres@127.0.0.1:5432/postgres`); a database is created in it. */
  postgresUrl?: string;
}

/** What `readGptLoad(fixture.from, {encryptionKey})` must return (iterators drained into arrays). */
export interface GptLoadFixtureExpected {
  encrypted: boolean;
  settings: GptLoadSetting[];
  groups: GptLoadGroup[];
  subGroups: GptLoadSubGroup[];
  /** In id order. */
  keys: GptLoadKey[];
  /** In id (uuid text) order. */
  requestLogs: GptLoadRequestLog[];
  hourlyStats: GptLoadHourlyStat[];
  /** The global proxy keys (`system_settings.proxy_keys`, split). */
  globalProxyKeys: string[];
  /** Proxy keys the fixture made weak on purpose (one global, one of group `_lab`). */
  weakProxyKeys: string[];
}

export interface GptLoadFixture {
  /** Give this to `readGptLoad` / `--from`. */
  from: string;
  dialect: FixtureDialect;
  encryptionKey: string | undefined;
  expected: GptLoadFixtureExpected;
  /** Deletes the file or drops the database. */
  cleanup(): Promise<void>;
}

/** Writes a GPT-Load 1.4.9 database (see the options) and returns where it is and what it holds. */
export async function writeGptLoadFixture(opts: GptLoadFixtureOptions): Promise<GptLoadFixture> {
  const settings = settingRows();
  const groups = groupDefs();
  const subGroups = subGroupRows();
  const keys = keyRows(opts.keys ?? 14, opts.encryptionKey, opts.legacy ?? false);
  const logs = logRows(opts.logs ?? 24, opts.encryptionKey, keys.plainById);
  const stats = hourlyRows(logs.expected);
  const tables: TableRows = [
    ['system_settings', settings.rows],
    ['groups', groups.map((g) => g.row)],
    ['group_sub_groups', subGroups.rows],
    ['api_keys', keys.rows],
    ['request_logs', logs.rows],
    ['group_hourly_stats', stats.rows],
  ];
  const expected: GptLoadFixtureExpected = {
    encrypted: opts.encryptionKey !== undefined,
    settings: settings.expected,
    groups: groups.map((g) => g.expected),
    subGroups: subGroups.expected,
    keys: keys.expected,
    requestLogs: logs.expected,
    hourlyStats: stats.expected,
    globalProxyKeys: [...GLOBAL_PROXY_KEYS],
    weakProxyKeys: [...WEAK_PROXY_KEYS],
  };
  const written = await writeTables(opts, tables);
  return { ...written, dialect: opts.dialect, encryptionKey: opts.encryptionKey, expected };
}

async function writeTables(
  opts: GptLoadFixtureOptions,
  tables: TableRows,
): Promise<{ from: string; cleanup(): Promise<void> }> {
  const name = `gptload_fx_${randomBytes(5).toString('hex')}`;
  const gptLoadStyle = opts.dsnStyle === 'gpt-load';
  if (opts.dialect === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'gpt-load-fixture-'));
    const path = join(dir, 'gpt-load.db');
    writeSqlite(path, tables, opts.tz ?? '+08:00');
    return { from: path, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
  if (opts.dialect === 'mysql') {
    const server = new URL(opts.mysqlUrl ?? 'mysql://root@127.0.0.1:3306');
    const zone = opts.mysqlTimeZone ?? 'UTC';
    const drop = await writeMysql(server, name, tables, zone);
    const loc = zone === 'UTC' ? '' : `loc=${encodeURIComponent(zone)}`;
    const cred = `${decodeURIComponent(server.username)}${server.password ? `:${decodeURIComponent(server.password)}` : ''}`;
    const from = gptLoadStyle
      ? `${cred}@tcp(${server.host})/${name}?charset=utf8mb4&parseTime=True${loc ? `&${loc}` : ''}`
      : `mysql://${cred}@${server.host}/${name}${loc ? `?${loc}` : ''}`;
    return { from, cleanup: drop };
  }
  const server = new URL(opts.postgresUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const drop = await writePostgres(server, name, tables);
  const target = new URL(server.href);
  target.pathname = `/${name}`;
  if (gptLoadStyle) {
    target.protocol = 'postgresql:';
    target.searchParams.set('sslmode', 'disable');
  }
  return { from: target.href, cleanup: drop };
}

/**
 * Fixtures of one test file: `make` writes one and remembers it, `cleanupAll` (for `afterAll`) removes them all.
 * Kept free of vitest so the package does not depend on it at run time.
 */
export function gptLoadFixtureScope(): {
  make(opts: GptLoadFixtureOptions): Promise<GptLoadFixture>;
  cleanupAll(): Promise<void>;
} {
  const made: GptLoadFixture[] = [];
  return {
    async make(opts) {
      const f = await writeGptLoadFixture(opts);
      made.push(f);
      return f;
    },
    async cleanupAll() {
      await Promise.all(made.splice(0).map((f) => f.cleanup()));
    },
  };
}
