/**
 * Child process: the baseline every Keyway figure is divided by — the ~40-line pass-through a Node gateway cannot
 * do less than: hono + @hono/node-server + an undici Pool, no middleware. It checks the proxy key, swaps it for a
 * pooled upstream key (round-robin), forwards, and answers. Env: UPSTREAM, UPSTREAM_KEYS, PROXY_KEY, BARE_MODE.
 * BARE_MODE=response (default): return a web `Response` (JSON buffered, SSE as a web stream), the usual way to
 * write a hono proxy. BARE_MODE=outgoing: write to the node response and return RESPONSE_ALREADY_SENT — about 1.1×
 * faster, so a stricter baseline.
 */
import { Readable, pipeline } from 'node:stream';
import { serve, type HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { Pool } from 'undici';
import { exitWithParent } from './orphan-guard';

const pool = new Pool(process.env.UPSTREAM ?? '', { connections: 128, keepAliveTimeout: 60_000 });
const keys = (process.env.UPSTREAM_KEYS ?? '').split(',');
const proxyKeys = new Set([process.env.PROXY_KEY ?? '']);
const outgoing = process.env.BARE_MODE === 'outgoing';
// request headers not forwarded upstream (authorization is replaced); response headers not passed back
const DROP_REQ = new Set([
  'host',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'authorization',
]);
const DROP_RES = new Set(['connection', 'keep-alive', 'transfer-encoding']);
let next = 0;

const app = new Hono<{ Bindings: HttpBindings }>();
app.get('/health', (c) => c.text('ok'));
app.all('/v1/*', async (c) => {
  if (!proxyKeys.has((c.req.header('authorization') ?? '').replace(/^Bearer\s+/i, '')))
    return c.json({ error: { message: 'invalid proxy key', code: 'invalid_api_key' } }, 401);
  const headers: Record<string, string> = {};
  for (const [k, v] of c.req.raw.headers) if (!DROP_REQ.has(k)) headers[k] = v;
  headers.authorization = `Bearer ${keys[next++ % keys.length]}`;
  const body = c.req.method === 'GET' ? null : Buffer.from(await c.req.arrayBuffer());
  const url = new URL(c.req.url);
  const up = await pool.request({ path: url.pathname + url.search, method: c.req.method, headers, body });
  if (outgoing) {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !DROP_RES.has(k)) out[k] = v;
    c.env.outgoing.writeHead(up.statusCode, out);
    pipeline(up.body, c.env.outgoing, () => undefined); // destroys the upstream body if the client goes away
    return RESPONSE_ALREADY_SENT;
  }
  const out = new Headers();
  for (const [k, v] of Object.entries(up.headers)) {
    if (v === undefined || DROP_RES.has(k)) continue;
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else out.set(k, v);
  }
  const streaming = String(up.headers['content-type'] ?? '').startsWith('text/event-stream');
  const resBody = streaming
    ? (Readable.toWeb(up.body) as ReadableStream<Uint8Array>)
    : Buffer.from(await up.body.arrayBuffer());
  return new Response(resBody, { status: up.statusCode, headers: out });
});

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
  process.stdout.write(`READY ${JSON.stringify({ url: `http://127.0.0.1:${info.port}` })}\n`),
);
const shutdown = (): void => {
  server.close(() => process.exit(0));
  void pool.destroy();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
exitWithParent();
