/** Starting the built Keyway standalone app as a real process and configuring it over its admin API. */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, startProcess, type ManagedProcess } from '@keyway/testing';
import { appStartEnv, benchDir, onCleanup, profileFlags } from './procs';

const repoRoot = resolve(benchDir, '..');
const mainJs = join(repoRoot, 'apps', 'standalone', 'dist', 'main.js');

/** Builds apps/standalone (and what it depends on) when its dist/main.js is missing. */
export function ensureStandaloneBuilt(): void {
  if (existsSync(mainJs)) return;
  process.stderr.write('apps/standalone/dist/main.js is missing: building it…\n');
  const built = spawnSync('pnpm', ['turbo', 'run', 'build', '--filter=@keyway/standalone'], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (built.status !== 0 || !existsSync(mainJs)) throw new Error('building @keyway/standalone failed');
}

export interface KeywayTarget {
  proc: ManagedProcess;
  /** Full URL of the proxied chat completions endpoint. */
  url: string;
  proxyKey: string;
  upstreamKeys: string[];
  /**
   * Creates an access key for the `bench` group carrying every limit and budget (set far above what a run can
   * reach, so each is checked on every request and none refuses) and returns its secret.
   */
  createAccessKey(): Promise<string>;
  /** Creates the `bench-pool` group (the same keys, pacing and affinity on); its proxy key and load URL. */
  createPoolGroup(): Promise<{ proxyKey: string; url: string }>;
  /** A second OpenAI group of the same keys that also accepts Anthropic `/v1/messages` calls (format translation). */
  createTranslatedGroup(): Promise<{ proxyKey: string; url: string }>;
}

/** Limits no bench run reaches: every one is checked per request, none refuses. */
const UNREACHED_LIMITS = {
  rpm: 2_000_000_000,
  tpm: 2_000_000_000,
  rpd: 2_000_000_000,
  tokensPerDay: 2_000_000_000,
  tokensPerMonth: 2_000_000_000,
  costUsdPerDay: 1_000_000,
  costUsdPerMonth: 1_000_000,
  costUsdTotal: 1_000_000,
};

/** POSTs (or PATCHes) to the admin API and returns the JSON answer; throws on an error status. */
export async function adminPost(
  base: string,
  authKey: string,
  path: string,
  body: unknown,
  method: 'POST' | 'PATCH' = 'POST',
): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${authKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} /api${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** GETs from the admin API and returns the JSON answer; throws on an error status. */
async function adminGet(base: string, authKey: string, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/api${path}`, { headers: { authorization: `Bearer ${authKey}` } });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`GET /api${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Adds `keys` to group `groupId` in one admin API call: a small list is added at once, a large one (over the
 * API's synchronous limit) becomes a background import whose task is polled until it finishes.
 */
async function addKeys(base: string, authKey: string, groupId: unknown, keys: string[]): Promise<void> {
  const answer = await adminPost(base, authKey, `/groups/${String(groupId)}/keys`, { keys });
  let added = answer.added;
  if (typeof answer.taskId === 'string') {
    const path = `/tasks/${encodeURIComponent(answer.taskId)}`;
    for (const until = Date.now() + 300_000; ; await new Promise((r) => setTimeout(r, 250))) {
      const task = await adminGet(base, authKey, path);
      if (task.state === 'failed')
        throw new Error(`importing ${keys.length} keys failed: ${String(task.error)}`);
      if (task.state === 'succeeded') {
        added = (task.result as { added?: unknown } | null)?.added ?? task.processed;
        break;
      }
      if (Date.now() > until) throw new Error(`importing ${keys.length} keys took over 5 minutes`);
    }
  }
  if (added !== keys.length) throw new Error(`adding ${keys.length} keys added ${String(added)}`);
}

/** Shape of the bench's Keyway configuration: the loaded group's key count, and how many groups exist. */
export interface BenchGroupShape {
  /** Upstream keys in the loaded group (default 3). */
  keys?: number;
  /** Groups in all, each with its own proxy key and 3 keys; the loaded one, `bench`, is created last. */
  groups?: number;
}

/** Made-up upstream keys the bench upstream accepts (it takes any `sk-` key). */
const upstreamKeyList = (count: number, tag: string): string[] =>
  Array.from({ length: count }, (_, i) => `sk-bench-${tag}${i}-${randomBytes(8).toString('hex')}`);

/**
 * Creates the `bench` group (OpenAI channel, the bench upstream, one proxy key, 3 upstream keys unless `shape`
 * says otherwise, after `shape.groups - 1` other groups) through the admin API at `base`; returns its keys.
 */
export async function createBenchGroup(
  base: string,
  authKey: string,
  upstreamUrl: string,
  shape: BenchGroupShape = {},
): Promise<{ proxyKey: string; upstreamKeys: string[]; groupId: number }> {
  let groupId = 0;
  const create = async (name: string, keys: string[]): Promise<string> => {
    const proxyKey = `bench-proxy-Key-${randomBytes(12).toString('hex')}`;
    const group = await adminPost(base, authKey, '/groups', {
      name,
      channel: 'openai',
      upstreams: [{ url: upstreamUrl }],
      proxyKeys: [proxyKey],
    });
    await addKeys(base, authKey, group.id, keys);
    groupId = Number(group.id);
    return proxyKey;
  };
  for (let i = 1; i < (shape.groups ?? 1); i++)
    await create(`bench-other-${i}`, upstreamKeyList(3, `g${i}-`));
  const upstreamKeys = upstreamKeyList(shape.keys ?? 3, '');
  const proxyKey = await create('bench', upstreamKeys);
  return { proxyKey, upstreamKeys, groupId };
}

/**
 * Starts Keyway on a free port with a throw-away SQLite database and the `bench` group (3 upstream keys unless
 * `shape` says otherwise), with the `requestLogging` setting given (the default, `all`, unless told).
 */
export async function startKeyway(
  upstreamUrl: string,
  requestLogging: 'all' | 'errors' | 'off' = 'all',
  shape: BenchGroupShape = {},
  /** More environment for the process (e.g. OpenTelemetry's). */
  extraEnv: Record<string, string> = {},
): Promise<KeywayTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyway-bench-'));
  onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const authKey = `bench-admin-Key-${randomBytes(12).toString('hex')}`;
  const proc = await startProcess({
    command: process.execPath,
    args: [...profileFlags('standalone'), mainJs],
    cwd: dataDir,
    env: {
      ...appStartEnv('standalone'),
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DATABASE_URL: `file:${join(dataDir, 'keyway.db')}`,
      AUTH_KEY: authKey,
      LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    readyUrl: `http://127.0.0.1:${port}/health`,
    timeoutMs: 30_000,
  });
  const base = `http://127.0.0.1:${port}`;
  if (requestLogging !== 'all') await adminPost(base, authKey, '/settings', { requestLogging }, 'PATCH');
  const { proxyKey, upstreamKeys, groupId } = await createBenchGroup(base, authKey, upstreamUrl, shape);
  const createAccessKey = async (): Promise<string> => {
    const created = await adminPost(base, authKey, '/access-keys', {
      name: 'bench',
      groups: [groupId],
      models: ['gpt-*'],
      limits: UNREACHED_LIMITS,
    });
    if (typeof created.key !== 'string') throw new Error('creating the access key returned no secret');
    return created.key;
  };
  /** A second OpenAI group of the bench group's keys, `settings` added; its proxy key and the URL to load. */
  const secondGroup = async (
    name: string,
    settings: Record<string, unknown>,
    path: string,
  ): Promise<{ proxyKey: string; url: string }> => {
    const key = `bench-proxy-Key-${randomBytes(12).toString('hex')}`;
    const group = await adminPost(base, authKey, '/groups', {
      name,
      channel: 'openai',
      upstreams: [{ url: upstreamUrl }],
      proxyKeys: [key],
      ...settings,
    });
    await addKeys(base, authKey, group.id, upstreamKeys);
    return { proxyKey: key, url: `${base}/proxy/${name}${path}` };
  };
  // Per-key pacing (limits never reached) and session affinity: every request is admitted on two counters per
  // key, and its session id read from the body and hashed.
  const createPoolGroup = () =>
    secondGroup(
      'bench-pool',
      {
        keyLimits: {
          default: { rpm: 1_000_000_000, tpm: 1_000_000_000, rpd: 1_000_000_000 },
          total: { rpm: 1_000_000_000 },
        },
        affinity: { mode: 'session' },
      },
      '/v1/chat/completions',
    );
  const createTranslatedGroup = () =>
    secondGroup('bench-translated', { translate: { from: ['anthropic'] } }, '/v1/messages');
  return {
    proc,
    url: `${base}/proxy/bench/v1/chat/completions`,
    proxyKey,
    upstreamKeys,
    createAccessKey,
    createPoolGroup,
    createTranslatedGroup,
  };
}
