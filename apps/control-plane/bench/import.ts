// Bench: a 100,000-key import through the real admin API, then key-list reads on the imported group.
//
//   pnpm --filter @keyway/control-plane run bench:import [-- --db sqlite|postgresql|mysql] [--keys 100000]
//        [--cipher both|plain|encrypted] [--runs 20] [--bare] [--strict]
//
// `POST /api/groups/{id}/keys` with more than SYNC_IMPORT_LIMIT keys answers 202 and a task id when the deps
// have a queue; the import then runs on a MemoryJobQueue through `addKeys` (as the worker's key-import processor
// does), and `GET /api/tasks/{id}` is polled until it finishes. Each variant gets its own throw-away database (SQLite temp file, or
// `kw_test_<random>` on TEST_POSTGRES_URL / TEST_MYSQL_URL) and prints where the import time went: every
// Prisma call by model, operation and selection, the SQLite writer's transactions, the cipher (hash / seal /
// open) and the key pool, and the event loop's delay (p99 / max) while the import ran. `--bare` runs
// without that instrumentation (to check its overhead); `--strict` exits 1 when a target is missed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { DbClient } from '@keyway/db';
import { addKeys, applyMigrations, createPrismaClient, createSqliteWriter, mapSliced } from '@keyway/db';
import type { KeyCipher } from '@keyway/keypool';
import { createKeyCipher, MemoryKeyPool } from '@keyway/keypool';
import type { TaskStatus } from '@keyway/queue';
import { JOBS, MemoryJobQueue } from '@keyway/queue';
import { createApp } from '../src/app';
import type { ControlPlaneDeps } from '../src/context';
import { plainKeyCipher } from '../src/key-cipher';
import { SYNC_IMPORT_LIMIT } from '../src/keys';
import type { ServerProvider } from '../src/testing/databases';
import { SERVER_URLS, createTempDatabase } from '../src/testing/databases';

const AUTH_KEY = 'kw-admin-bench-key-4b8e2d6f1a9c3e57';
const ENCRYPTION_SECRET = 'some-long-secret-value-for-the-import-bench-3f9a1c7e5b2d8046';
const TARGET_IMPORT_MS = 20_000;
const TARGET_PAGE_MS = 100;
const IMPORT_TIMEOUT_MS = 10 * 60_000;

type DbKind = 'sqlite' | ServerProvider;
type Variant = 'plain' | 'encrypted';

interface Options {
  db: DbKind;
  keys: number;
  variants: Variant[];
  runs: number;
  bare: boolean;
  strict: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      db: { type: 'string', default: 'sqlite' },
      keys: { type: 'string', default: '100000' },
      cipher: { type: 'string', default: 'both' },
      runs: { type: 'string', default: '20' },
      bare: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
    },
    // `pnpm run bench:import -- --db mysql` passes a literal `--` through on some pnpm versions.
    args: process.argv.slice(2).filter((a) => a !== '--'),
  });
  const db = values.db;
  if (db !== 'sqlite' && db !== 'postgresql' && db !== 'mysql')
    throw new Error(`--db must be sqlite, postgresql or mysql, not ${db}`);
  const variants: Record<string, Variant[]> = {
    both: ['plain', 'encrypted'],
    plain: ['plain'],
    encrypted: ['encrypted'],
  };
  const chosen = variants[values.cipher];
  if (!chosen) throw new Error(`--cipher must be both, plain or encrypted, not ${values.cipher}`);
  const keys = Number(values.keys);
  const runs = Number(values.runs);
  if (!Number.isInteger(keys) || keys <= SYNC_IMPORT_LIMIT)
    throw new Error(`--keys must be an integer above ${SYNC_IMPORT_LIMIT} (a background import)`);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  return { db, keys, variants: chosen, runs, bare: values.bare, strict: values.strict };
}

// ------------------------------------------------------------------------------------------------------------
// Profile: calls and wall time per span; spans may overlap (a Prisma call inside a pool add, etc.).

class Profile {
  private readonly spans = new Map<string, { calls: number; ms: number }>();

  add(name: string, ms: number): void {
    const s = this.spans.get(name) ?? { calls: 0, ms: 0 };
    s.calls++;
    s.ms += ms;
    this.spans.set(name, s);
  }

  sync<T>(name: string, fn: () => T): T {
    const t = performance.now();
    try {
      return fn();
    } finally {
      this.add(name, performance.now() - t);
    }
  }

  async async<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.add(name, performance.now() - t);
    }
  }

  reset(): void {
    this.spans.clear();
  }

  entries(): Array<[string, { calls: number; ms: number }]> {
    return [...this.spans.entries()]
      .map(([name, s]): [string, { calls: number; ms: number }] => [name, { ...s }])
      .sort((a, b) => b[1].ms - a[1].ms);
  }
}

/** What a query reads: `(id, keyHash)` for a `select`, `(*)` for whole rows; '' for writes and counts. */
function selection(operation: string, args: unknown): string {
  if (!operation.startsWith('find')) return '';
  const select = typeof args === 'object' && args !== null && 'select' in args ? args.select : undefined;
  return typeof select === 'object' && select !== null ? `(${Object.keys(select).join(', ')})` : '(*)';
}

/** The Prisma client with every model operation timed (`db ApiKey.findMany(keyHash)`, …). */
function timedDb(db: DbClient, profile: Profile): DbClient {
  const extended = db.$extends({
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          return profile.async(`db ${model}.${operation}${selection(operation, args)}`, () => query(args));
        },
      },
    },
  });
  // The extension changes no model or method signature; only the type is a different (extended) one.
  return extended as unknown as DbClient;
}

function timedCipher(cipher: KeyCipher, profile: Profile): KeyCipher {
  return {
    encrypted: cipher.encrypted,
    seal: (plain) => profile.sync('cipher.seal', () => cipher.seal(plain)),
    open: (stored) => profile.sync('cipher.open', () => cipher.open(stored)),
    hash: (plain) => profile.sync('cipher.hash', () => cipher.hash(plain)),
    fingerprint: () => cipher.fingerprint(),
  };
}

function timedPool(pool: MemoryKeyPool, profile: Profile): MemoryKeyPool {
  const add = pool.add.bind(pool);
  pool.add = (groupId, keys) => profile.async('keyPool.add', () => add(groupId, keys));
  return pool;
}

// ------------------------------------------------------------------------------------------------------------

interface Database {
  url: string;
  drop(): Promise<void>;
}

async function openDatabase(kind: DbKind): Promise<Database> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keyway-bench-import-'));
    return {
      url: `file:${join(dir, 'bench.db')}`,
      drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    };
  }
  return createTempDatabase(kind, SERVER_URLS[kind]);
}

/** `sk-proj-` + 48 random URL-safe characters: the length and alphabet of real OpenAI keys. */
function generateKeys(n: number): string[] {
  const raw = randomBytes(n * 36).toString('base64url');
  return Array.from({ length: n }, (_, i) => `sk-proj-${raw.slice(i * 48, i * 48 + 48)}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const fmtMs = (ms: number): string =>
  ms >= 1000
    ? `${(ms / 1000).toFixed(2)} s`
    : ms >= 1
      ? `${ms.toFixed(1)} ms`
      : `${(ms * 1000).toFixed(1)} µs`;

interface Result {
  variant: Variant;
  postMs: number;
  importMs: number;
  task: TaskStatus;
  pageMs: number;
  pageMaxMs: number;
  searchMs: number;
  searchMaxMs: number;
  loopP99Ms: number;
  loopMaxMs: number;
  profile: Array<[string, { calls: number; ms: number }]>;
}

async function runVariant(o: Options, variant: Variant, keys: string[]): Promise<Result> {
  const database = await openDatabase(o.db);
  const profile = new Profile();
  const queue = new MemoryJobQueue({ attempts: 1 });
  const pool = new MemoryKeyPool();
  const keyPool = o.bare ? pool : timedPool(pool, profile);
  await applyMigrations(database.url);
  const conn = createPrismaClient(database.url);
  // As standalone: SQLite's one writer takes the inserts, in short transactions.
  const sqliteWriter =
    conn.provider === 'sqlite'
      ? createSqliteWriter(database.url, {
          onTransaction: (operation, _rows, ms) => {
            if (!o.bare) profile.add(`sqlite writer ${operation}`, ms);
          },
        })
      : undefined;
  try {
    const errors: object[] = [];
    const cipher = variant === 'encrypted' ? createKeyCipher(ENCRYPTION_SECRET) : plainKeyCipher;
    const deps: ControlPlaneDeps = {
      db: o.bare ? conn.prisma : timedDb(conn.prisma, profile),
      dbProvider: conn.provider,
      sqliteWriter,
      keyPool,
      authKey: AUTH_KEY,
      keyCipher: o.bare ? cipher : timedCipher(cipher, profile),
      logger: {
        info: () => {},
        warn: () => {},
        error: (obj) => {
          errors.push(obj);
        },
      },
      onConfigChanged: () => Promise.resolve(),
      queue,
    };
    // The worker's key-import processor, minus its group checks (apps cannot import the worker): the queued
    // values are stored as sealed, not sealed again.
    queue.process(JOBS.keyImport, async (job) =>
      addKeys(deps, job.payload.groupId, await mapSliced(job.payload.keys, (k) => deps.keyCipher.open(k)), {
        onProgress: (processed, total) => job.progress(processed, total),
        sealed: job.payload.keys,
      }),
    );
    const app = createApp(deps);
    const call = async <T>(
      method: string,
      path: string,
      body?: unknown,
    ): Promise<{ status: number; json: T }> => {
      const res = await app.request(
        path,
        {
          method,
          headers: { authorization: `Bearer ${AUTH_KEY}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        },
        {},
      );
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
      return { status: res.status, json: JSON.parse(text) as T };
    };

    const group = await call<{ id: number }>('POST', '/api/groups', {
      name: 'bench-import',
      channel: 'openai',
      upstreams: [{ url: 'https://api.openai.example/v1', weight: 1 }],
    });
    const gid = group.json.id;
    profile.reset();

    // The import, as the console sends it: one text body, one key per line.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const t0 = performance.now();
    const accepted = await call<{ taskId: string }>('POST', `/api/groups/${gid}/keys`, {
      keys: keys.join('\n'),
    });
    const postMs = performance.now() - t0;
    if (accepted.status !== 202) throw new Error(`expected 202 and a task id, got ${accepted.status}`);
    let task: TaskStatus;
    for (;;) {
      task = (await call<TaskStatus>('GET', `/api/tasks/${accepted.json.taskId}`)).json;
      if (task.state === 'succeeded' || task.state === 'failed') break;
      if (performance.now() - t0 > IMPORT_TIMEOUT_MS)
        throw new Error('the import did not finish in 10 minutes');
      await new Promise((r) => setTimeout(r, 20));
    }
    const importMs = performance.now() - t0;
    loop.disable();
    const loopP99Ms = Math.max(0, loop.percentile(99) / 1e6 - 10);
    const loopMaxMs = Math.max(0, loop.max / 1e6 - 10);
    if (task.state !== 'succeeded') throw new Error(`the import failed: ${task.error ?? 'no error message'}`);
    if (errors.length > 0) throw new Error(`the app logged errors: ${JSON.stringify(errors).slice(0, 500)}`);
    const importProfile = profile.entries();

    // Reads on the full group: one warm-up, then `runs` timed requests each.
    const timeGet = async (path: string, check: (json: { items: unknown[]; total: number }) => void) => {
      check((await call<{ items: unknown[]; total: number }>('GET', path)).json);
      const times: number[] = [];
      for (let i = 0; i < o.runs; i++) {
        const t = performance.now();
        const res = await call<{ items: unknown[]; total: number }>('GET', path);
        times.push(performance.now() - t);
        check(res.json);
      }
      return { median: median(times), max: Math.max(...times) };
    };
    const page = await timeGet(`/api/groups/${gid}/keys?page=500&pageSize=50`, (j) => {
      if (j.items.length !== Math.min(50, Math.max(0, keys.length - 24_950)) || j.total !== keys.length)
        throw new Error(`page 500 has ${j.items.length} items of ${j.total}`);
    });
    const needle = keys[Math.floor(keys.length * 0.73)] ?? '';
    const search = await timeGet(`/api/groups/${gid}/keys?search=${encodeURIComponent(needle)}`, (j) => {
      if (j.total !== 1) throw new Error(`the search by value found ${j.total} keys`);
    });

    return {
      variant,
      postMs,
      importMs,
      task,
      pageMs: page.median,
      pageMaxMs: page.max,
      searchMs: search.median,
      searchMaxMs: search.max,
      loopP99Ms,
      loopMaxMs,
      profile: importProfile,
    };
  } finally {
    await queue.close();
    await keyPool.close();
    await sqliteWriter?.close();
    await conn.close();
    await database.drop();
  }
}

function report(o: Options, results: Result[]): boolean {
  let ok = true;
  console.log(
    `\nKey import bench: ${o.keys.toLocaleString('en')} keys, ${o.db}, Node ${process.version}` +
      `${o.bare ? ', no instrumentation' : ''}`,
  );
  console.log(
    `targets: import <= ${fmtMs(TARGET_IMPORT_MS)}, page <= ${fmtMs(TARGET_PAGE_MS)} (median of ${o.runs})\n`,
  );
  const head = [
    'cipher',
    'import',
    'POST->202',
    'event loop p99/max',
    'result',
    'page 500 (median/max)',
    'search by value (median/max)',
  ];
  const rows = results.map((r) => [
    r.variant,
    `${fmtMs(r.importMs)}${r.importMs <= TARGET_IMPORT_MS ? '' : ' MISS'}`,
    fmtMs(r.postMs),
    `${fmtMs(r.loopP99Ms)} / ${fmtMs(r.loopMaxMs)}`,
    JSON.stringify(r.task.result),
    `${fmtMs(r.pageMs)} / ${fmtMs(r.pageMaxMs)}${r.pageMs <= TARGET_PAGE_MS ? '' : ' MISS'}`,
    `${fmtMs(r.searchMs)} / ${fmtMs(r.searchMaxMs)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
  for (const r of results) {
    if (r.importMs > TARGET_IMPORT_MS || r.pageMs > TARGET_PAGE_MS) ok = false;
    if (o.bare) continue;
    console.log(`\nwhere the ${r.variant} import went (wall time per span, calls; spans overlap):`);
    for (const [name, s] of r.profile.filter(([, s]) => s.ms >= 1)) {
      const share = ((100 * s.ms) / r.importMs).toFixed(1).padStart(5);
      console.log(
        `  ${name.padEnd(28)} ${fmtMs(s.ms).padStart(10)} ${share}%  ${String(s.calls).padStart(7)} calls  ` +
          `${fmtMs(s.ms / s.calls).padStart(9)}/call`,
      );
    }
  }
  return ok;
}

const o = options();
const keys = generateKeys(o.keys);
const results: Result[] = [];
for (const variant of o.variants) {
  process.stdout.write(`importing ${o.keys} keys (${variant}) on ${o.db}…\n`);
  results.push(await runVariant(o, variant, keys));
}
const ok = report(o, results);
if (!ok && o.strict) process.exitCode = 1;
