import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess } from '@keyway/testing';
import type { ManagedProcess } from '@keyway/testing';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const mainJs = join(appDir, 'dist', 'main.js');

/** A throw-away data directory. */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `keyway-${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the built standalone app as a real process on a free port with its own SQLite file. */
export async function startStandalone(
  dataDir: string,
  env: Record<string, string | undefined> = {},
): Promise<{ proc: ManagedProcess; url: string; port: number }> {
  const port = await freePort();
  const proc = await startProcess({
    command: process.execPath,
    args: [mainJs],
    cwd: dataDir,
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `file:${join(dataDir, 'keyway.db')}`,
      DATA_DIR: dataDir,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      ...env,
    },
    readyUrl: `http://127.0.0.1:${port}/health`,
    timeoutMs: 30_000,
  });
  return { proc, url: `http://127.0.0.1:${port}`, port };
}

/** A small admin API client. */
export function adminClient(base: string, authKey: string) {
  const call = async (method: string, path: string, body?: unknown, raw?: string) => {
    const res = await fetch(`${base}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${authKey}`, 'content-type': 'application/json' },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return {
      status: res.status,
      body: json as Record<string, unknown> & { error?: { code: string; message: string } },
    };
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown) => call('POST', path, body),
    patch: (path: string, body?: unknown) => call('PATCH', path, body),
    delete: (path: string, body?: unknown) => call('DELETE', path, body),
    raw: (method: string, path: string, raw: string) => call(method, path, undefined, raw),
  };
}
