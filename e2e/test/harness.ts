// A distributed Keyway cluster for end-to-end tests: the built control plane, worker and N gateways as real
// processes on one database, one Redis prefix and one NATS subject prefix of their own.
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess } from '@keyway/testing';
import type { ManagedProcess } from '@keyway/testing';
import type { Group, GroupCreate, Key, KeysAddResult, KeyStatus } from '@keyway/contracts';
import { createDatabase, deletePrefix, migrate, SHARED } from './services';
import type { TempDatabase } from './services';
import { chat, eventually, report } from './traffic';

export * from './services';
export * from './traffic';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = {
  gateway: join(ROOT, 'apps/gateway/dist/main.js'),
  controlPlane: join(ROOT, 'apps/control-plane/dist/main.js'),
  migrate: join(ROOT, 'apps/control-plane/dist/migrate.js'),
  worker: join(ROOT, 'apps/worker/dist/main.js'),
};

type Env = Record<string, string | undefined>;

/** One app process of the cluster, restartable on the same port with the same environment. */
export interface App {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  /** The running process (the last one, after it stopped). */
  readonly proc: ManagedProcess | undefined;
  /** Starts it and waits for `/ready` (or only `/health` with `wait: 'health'`). */
  start(wait?: 'ready' | 'health'): Promise<void>;
  /** SIGTERM (graceful) or SIGKILL; resolves once it exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** GET `path` on it: status and parsed JSON (null when not JSON). */
  get(path: string): Promise<{ status: number; body: unknown }>;
}

async function createApp(name: string, script: string, env: Env): Promise<App> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let proc: ManagedProcess | undefined;
  let running = false;
  return {
    name,
    url,
    port,
    get proc() {
      return proc;
    },
    async start(wait = 'ready') {
      proc = await startProcess({
        command: process.execPath,
        args: [script],
        cwd: ROOT,
        env: { ...env, PORT: String(port) },
        readyUrl: `${url}/${wait}`,
        timeoutMs: 30_000,
      });
      running = true;
      void proc.exited.then(() => (running = false));
    },
    async stop(signal = 'SIGTERM') {
      if (running) await proc?.stop(signal, 10_000);
      running = false;
    },
    async get(path) {
      const res = await fetch(`${url}${path}`);
      const text = await res.text();
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      return { status: res.status, body };
    },
  };
}

/** A response of the admin API. */
export interface AdminResponse<T> {
  status: number;
  body: T;
}

/** A small client of the control plane's `/api`. */
export interface AdminClient {
  get<T = Record<string, unknown>>(path: string): Promise<AdminResponse<T>>;
  post<T = Record<string, unknown>>(path: string, body?: unknown): Promise<AdminResponse<T>>;
  patch<T = Record<string, unknown>>(path: string, body?: unknown): Promise<AdminResponse<T>>;
  delete<T = Record<string, unknown>>(path: string, body?: unknown): Promise<AdminResponse<T>>;
}

/** An admin client for `base` authenticated with `authKey`. */
export function adminClient(base: string, authKey: string): AdminClient {
  const send = async <T>(method: string, path: string, body?: unknown): Promise<AdminResponse<T>> => {
    const res = await fetch(`${base}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${authKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };
  return {
    get: (path) => send('GET', path),
    post: (path, body) => send('POST', path, body),
    patch: (path, body) => send('PATCH', path, body),
    delete: (path, body) => send('DELETE', path, body),
  };
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** Names the database and the prefixes. */
  label: string;
  gateways?: number;
  redisUrl?: string;
  natsUrl?: string;
  /** Extra environment of the worker (e.g. `RECHECK_EVERY_SECONDS`). */
  workerEnv?: Env;
}

/** A running cluster. */
export interface Cluster {
  readonly prefix: string;
  readonly authKey: string;
  readonly db: TempDatabase;
  readonly controlPlane: App;
  readonly worker: App;
  readonly gateways: App[];
  readonly admin: AdminClient;
  /** Creates (does not start) one more gateway of this cluster, with optional env overrides. */
  addGateway(overrides?: Env): Promise<App>;
  /** Prints the last lines of every app's output (after a failure). */
  printLogTails(lines?: number): void;
  /** Stops every process (SIGTERM, then SIGKILL), drops the database and the Redis keys. */
  close(): Promise<void>;
}

/**
 * Migrates a fresh database, then starts the control plane (which publishes the first snapshot), then the worker
 * and the gateways, each waited for on `/ready`. Whatever fails half-way is torn down before the error is thrown.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const started = performance.now();
  const prefix = `e2e${options.label}${randomBytes(4).toString('hex')}:`;
  const redisUrl = options.redisUrl ?? SHARED.redis;
  const authKey = `kw-admin-${randomBytes(16).toString('hex')}`;
  const db = await createDatabase(options.label);
  const apps: App[] = [];
  const env: Env = {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    NATS_URL: options.natsUrl ?? SHARED.nats,
    SHUTDOWN_TIMEOUT_SECONDS: '5',
    DATABASE_URL: undefined,
    AUTH_KEY: undefined,
    // Distributed apps refuse to start without one (or an explicit `off`); every process of a cluster shares it.
    ENCRYPTION_KEY: `kw-enc-${randomBytes(24).toString('hex')}`,
  };
  const close = async (): Promise<void> => {
    await Promise.all(apps.map((a) => a.stop().catch(() => a.stop('SIGKILL'))));
    await db.drop().catch((e: unknown) => console.warn(`[e2e] could not drop ${db.name}: ${String(e)}`));
    await deletePrefix(redisUrl, prefix).catch(() => undefined);
  };
  try {
    await migrate(DIST.migrate, db.url);
    const withDb = { ...env, DATABASE_URL: db.url };
    const controlPlane = await createApp('control-plane', DIST.controlPlane, {
      ...withDb,
      AUTH_KEY: authKey,
    });
    apps.push(controlPlane);
    await controlPlane.start();
    const worker = await createApp('worker', DIST.worker, { ...withDb, ...options.workerEnv });
    apps.push(worker);
    const gateways: App[] = [];
    const addGateway = async (overrides: Env = {}): Promise<App> => {
      const gw = await createApp(`gateway-${gateways.length + 1}`, DIST.gateway, { ...env, ...overrides });
      apps.push(gw);
      gateways.push(gw);
      return gw;
    };
    for (let i = 0; i < (options.gateways ?? 2); i++) await addGateway();
    await Promise.all([worker.start(), ...gateways.map((g) => g.start())]);
    report(`cluster "${options.label}" up (migrate + ${apps.length} processes)`, `${ms(started)} ms`);
    return {
      prefix,
      authKey,
      db,
      controlPlane,
      worker,
      gateways,
      admin: adminClient(controlPlane.url, authKey),
      addGateway,
      printLogTails: (lines = 30) => {
        for (const app of apps) {
          const tail = app.proc?.lines.slice(-lines).join('\n') ?? '(never started)';
          console.log(`----- ${app.name} (${app.url}) last ${lines} lines -----\n${tail}`);
        }
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function ms(since: number): number {
  return Math.round(performance.now() - since);
}

/** Creates a standard OpenAI group on `upstream` with `keys`, answering to `proxyKey`. */
export async function createGroup(
  admin: AdminClient,
  group: { name: string; upstream: string; proxyKey: string; keys: readonly string[] } & Partial<GroupCreate>,
): Promise<Group> {
  const { upstream, proxyKey, keys, ...fields } = group;
  const created = await admin.post<Group>('/groups', {
    channel: 'openai',
    upstreams: [{ url: upstream, weight: 1 }],
    testModel: 'gpt-4.1-nano',
    proxyKeys: [proxyKey],
    ...fields,
  });
  if (created.status !== 201) throw new Error(`group ${group.name}: ${JSON.stringify(created.body)}`);
  if (keys.length > 0) {
    const added = await admin.post<KeysAddResult>(`/groups/${created.body.id}/keys`, { keys });
    if (added.status !== 200) throw new Error(`keys of ${group.name}: ${JSON.stringify(added.body)}`);
  }
  return created.body;
}

/** The keys of a group as the admin API shows them (live states). */
export async function listKeys(admin: AdminClient, groupId: number, status?: KeyStatus): Promise<Key[]> {
  const query = status ? `&status=${status}` : '';
  const res = await admin.get<{ items: Key[] }>(`/groups/${groupId}/keys?pageSize=1000${query}`);
  if (res.status !== 200) throw new Error(`keys of group ${groupId}: ${JSON.stringify(res.body)}`);
  return res.body.items;
}

/** The key holding `value` (found by the API's exact-key search). */
export async function findKey(admin: AdminClient, groupId: number, value: string): Promise<Key> {
  const res = await admin.get<{ items: Key[] }>(
    `/groups/${groupId}/keys?search=${encodeURIComponent(value)}`,
  );
  const key = res.body.items[0];
  if (res.status !== 200 || !key) throw new Error(`no key ${value.slice(0, 8)}… in group ${groupId}`);
  return key;
}

/** Whether a chat completion through `group` answers 200 on every one of `gateways`. */
export async function allServe(gateways: readonly App[], group: string, proxyKey: string): Promise<boolean> {
  const answers = await Promise.all(gateways.map((g) => chat(g.url, group, { proxyKey })));
  return answers.every((a) => a.status === 200);
}

/** How many request_logs rows carry one of `requestIds` (rows, and distinct ids among them). */
export async function storedLogs(
  db: TempDatabase,
  requestIds: readonly string[],
): Promise<{ n: number; distinct: number }> {
  const [row] = await db.query<{ n: number; distinct: number }>(
    'SELECT count(*)::int AS n, count(DISTINCT "requestId")::int AS distinct FROM request_logs WHERE "requestId" = ANY($1)',
    [requestIds],
  );
  return row ?? { n: 0, distinct: 0 };
}

/**
 * Resolves with the ms until a row for every one of `requestIds` is in request_logs; rejects after `timeoutMs`
 * saying how many arrived. Callers check `storedLogs` again afterwards for duplicates.
 */
export async function logsLanded(
  db: TempDatabase,
  requestIds: readonly string[],
  timeoutMs = 30_000,
): Promise<number> {
  let stored = 0;
  return eventually(
    `${requestIds.length} request logs in the database`,
    async () => (stored = (await storedLogs(db, requestIds)).n) >= requestIds.length,
    timeoutMs,
    100,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)} (${stored} stored)`);
  });
}
