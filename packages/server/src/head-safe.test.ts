import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpBindings } from '@hono/node-server';
import { serve } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { headSafeFetch } from './head-safe';
import type { NodeFetch } from './two-phase';

/** A route that writes the raw node response itself, as the proxy does. */
function rawApp(): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.get('/raw', (c) => {
    c.env.outgoing.writeHead(200, { 'x-raw': 'yes', 'content-length': '2' });
    c.env.outgoing.end('ok');
    return RESPONSE_ALREADY_SENT;
  });
  return app;
}

async function head(fetch: NodeFetch): Promise<{ status: number; raw: string | undefined; logged: string }> {
  const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const server = serve({ fetch: fetch as (r: Request) => Promise<Response>, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  try {
    const res = await new Promise<{ status: number; raw: string | undefined }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'HEAD', path: '/raw' }, (r) => {
        r.resume();
        r.once('end', () => resolve({ status: r.statusCode ?? 0, raw: r.headers['x-raw'] as string }));
      });
      req.once('error', reject);
      req.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { ...res, logged: errors.mock.calls.map((args) => String(args[0])).join('\n') };
  } finally {
    errors.mockRestore();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('headSafeFetch', () => {
  afterEach(() => vi.restoreAllMocks());

  it('answers HEAD on a route that wrote its own response without writing the head twice', async () => {
    const app = rawApp();
    const safe = await head(headSafeFetch(app.fetch));
    expect(safe).toMatchObject({ status: 200, raw: 'yes' });
    expect(safe.logged).not.toContain('ERR_HTTP_HEADERS_SENT');
  });

  it('is needed: hono alone makes the node server write the head a second time', async () => {
    const app = rawApp();
    const plain = await head(app.fetch);
    expect(plain.status).toBe(200);
    expect(plain.logged).toMatch(/ERR_HTTP_HEADERS_SENT|Cannot write headers/);
  });
});
