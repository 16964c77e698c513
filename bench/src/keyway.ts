/** Starting the built Keyway standalone app as a real process and configuring it over its admin API. */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, startProcess, type ManagedProcess } from '@keyway/testing';
import { benchDir, onCleanup, profileFlags } from './procs';

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
}

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

/**
 * Creates the `bench` group (OpenAI channel, the fake upstream, one proxy key, 20 upstream keys) through the admin
 * API at `base`; returns the keys it made up.
 */
export async function createBenchGroup(
  base: string,
  authKey: string,
  upstreamUrl: string,
): Promise<{ proxyKey: string; upstreamKeys: string[] }> {
  const proxyKey = `bench-proxy-Key-${randomBytes(12).toString('hex')}`;
  const upstreamKeys = Array.from(
    { length: 20 },
    (_, i) => `sk-bench-${String(i).padStart(2, '0')}-${randomBytes(8).toString('hex')}`,
  );
  const group = await adminPost(base, authKey, '/groups', {
    name: 'bench',
    channel: 'openai',
    upstreams: [{ url: upstreamUrl }],
    proxyKeys: [proxyKey],
  });
  const added = await adminPost(base, authKey, `/groups/${String(group.id)}/keys`, { keys: upstreamKeys });
  if (added.added !== upstreamKeys.length) throw new Error(`adding keys answered ${JSON.stringify(added)}`);
  return { proxyKey, upstreamKeys };
}

/**
 * Starts Keyway on a free port with a throw-away SQLite database, one `bench` group and 20 upstream keys, with the
 * `requestLogging` setting given (the default, `all`, unless told).
 */
export async function startKeyway(
  upstreamUrl: string,
  requestLogging: 'all' | 'errors' | 'off' = 'all',
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
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DATABASE_URL: `file:${join(dataDir, 'keyway.db')}`,
      AUTH_KEY: authKey,
      LOG_LEVEL: 'warn',
    },
    readyUrl: `http://127.0.0.1:${port}/health`,
    timeoutMs: 30_000,
  });
  const base = `http://127.0.0.1:${port}`;
  if (requestLogging !== 'all') await adminPost(base, authKey, '/settings', { requestLogging }, 'PATCH');
  const { proxyKey, upstreamKeys } = await createBenchGroup(base, authKey, upstreamUrl);
  return { proc, url: `${base}/proxy/bench/v1/chat/completions`, proxyKey, upstreamKeys };
}
