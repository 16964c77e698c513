// Standalone in one process, on its own SQLite file: an access key's budget is enforced exactly, shown by the
// control plane from the same counters, and still spent after a restart (the counters are seeded from the
// database). Only the upstream is a fake.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createLogger } from '@keyway/observability';
import { freePort, startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream } from '@keyway/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test/harness';
import { createServing } from './app';
import { buildDeps } from './deps';
import type { StandaloneDeps } from './deps';
import { readEnv } from './env';

const AUTH_KEY = `kw-admin-${randomBytes(16).toString('hex')}`;

interface Running {
  deps: StandaloneDeps;
  server: Server;
  url: string;
}

describe('access-key budgets in standalone', { timeout: 60_000 }, () => {
  const data = tempDir('ak-budgets');
  const logger = createLogger({ level: 'silent', format: 'json' });
  let fake: FakeUpstream;
  let running: Running | null = null;
  let secret = '';

  async function start(): Promise<Running> {
    const env = readEnv({
      DATABASE_URL: `file:${data.dir}/keyway.db`,
      DATA_DIR: data.dir,
      PORT: String(await freePort()),
      AUTH_KEY,
      ENCRYPTION_KEY: 'off',
      LOG_LEVEL: 'error',
    });
    const deps = await buildDeps(env, AUTH_KEY, logger);
    const { app } = createServing(deps);
    const server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
    });
    return { deps, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  async function stop(r: Running): Promise<void> {
    await new Promise<void>((resolve) => {
      r.server.close(() => resolve());
      r.server.closeAllConnections();
    });
    // Flushes the usage counters to the database, as a graceful shutdown does.
    await r.deps.close();
  }

  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${(running as Running).url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${AUTH_KEY}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  const chat = () =>
    fetch(`${(running as Running).url}/proxy/oa/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }),
    });

  beforeAll(async () => {
    fake = await startFakeUpstream();
    running = await start();
    const group = await api<{ id: number }>('POST', '/groups', {
      name: 'oa',
      channel: 'openai',
      upstreams: [{ url: fake.url, weight: 1 }],
    });
    expect(group.status).toBe(201);
    expect(
      (await api('POST', `/groups/${group.body.id}/keys`, { keys: ['sk-budget-upstream-0001'] })).status,
    ).toBe(200);
    const created = await api<{ key: string }>('POST', '/access-keys', {
      name: 'capped',
      groups: '*',
      limits: { rpm: 100, costUsdTotal: 0.000001 },
    });
    expect(created.status).toBe(201);
    secret = created.body.key;
  });

  afterAll(async () => {
    if (running) await stop(running);
    await fake?.close();
    data.cleanup();
  });

  it('spends a total budget, shows rpmNow from the same counters, and keeps it spent after a restart', async () => {
    expect((await chat()).status).toBe(200);
    const spent = await chat();
    expect(spent.status).toBe(429);
    expect(spent.headers.get('retry-after')).toBeNull();
    const message = ((await spent.json()) as { error: { message: string } }).error.message;
    expect(message).toBe(
      "Access key 'capped' reached its costUsdTotal limit ($0.000001 in total): it does not reset; an administrator can raise it",
    );
    const list = await api<{ items: Array<{ name: string; usage: { rpmNow: number } }> }>(
      'GET',
      '/access-keys',
    );
    expect(list.body.items.find((k) => k.name === 'capped')?.usage.rpmNow).toBe(1);

    await stop(running as Running);
    running = await start();
    const after = await chat();
    expect(after.status).toBe(429);
    expect(((await after.json()) as { error: { message: string } }).error.message).toBe(message);
    // Only the first request ever reached the upstream.
    expect(fake.requests).toHaveLength(1);
  });
});
