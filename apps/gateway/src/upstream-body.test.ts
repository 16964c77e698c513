import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { asReadable } from '@keyway/providers';
import { Pool } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamCall } from './upstream-body';
import type { UpstreamBody } from './upstream-body';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let handler: Handler = (_req, res) => res.end('ok');
let server: Server;
let pool: Pool;

beforeAll(async () => {
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 4 });
});
afterAll(async () => {
  await pool.close();
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  handler = (_req, res) => res.end('ok');
});

const call = (path = '/') => new UpstreamCall(pool, { method: 'GET', path, headers: {} });
const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every event of a body, in order, until it closes. */
function events(body: UpstreamBody): Promise<string[]> {
  return new Promise((resolve) => {
    const seen: string[] = [];
    body.on('data', (chunk: Buffer) => seen.push(`data:${chunk.toString()}`));
    body.on('end', () => seen.push('end'));
    body.on('error', (e: Error) => seen.push(`error:${e.message}`));
    body.on('close', () => {
      seen.push('close');
      resolve(seen);
    });
  });
}

describe('UpstreamCall and UpstreamBody', () => {
  it('resolves at the head with parsed headers, and holds an answer that came whole until it is read', async () => {
    handler = (_req, res) => {
      res.setHeader('X-Multi', ['a', 'b']);
      res.setHeader('Content-Type', 'application/json');
      res.end('{"whole":true}');
    };
    const { statusCode, headers, body } = await call().response;
    expect(statusCode).toBe(200);
    expect(headers['content-type']).toBe('application/json');
    expect(headers['x-multi']).toEqual(['a', 'b']);
    // The body came in the same read as the head: nothing is lost while no one listens.
    await tick();
    expect(await events(body)).toEqual(['data:{"whole":true}', 'end', 'close']);
    expect(body.readableEnded).toBe(true);
  });

  it('skips an informational answer (103 Early Hints) and resolves with the final one', async () => {
    handler = (_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.statusCode = 201;
      res.end('made');
    };
    const { statusCode, body } = await call().response;
    expect(statusCode).toBe(201);
    expect(Buffer.from(await body.arrayBuffer()).toString()).toBe('made');
  });

  it('stops reading the socket while its reader is paused, and delivers every byte in order once it reads again', async () => {
    const chunk = 64 * 1024;
    const total = 64 * 1024 * 1024;
    let written = 0;
    handler = (_req, res) => {
      const more = (): void => {
        while (written < total) {
          const n = Math.min(chunk, total - written);
          const ok = res.write(Buffer.alloc(n, written / chunk));
          written += n;
          if (!ok) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    };
    const { body } = await call().response;
    const parts: Buffer[] = [];
    let hold = true;
    body.on('data', (c: Buffer) => {
      parts.push(c);
      if (hold) body.pause();
    });
    await tick(500);
    // One chunk read, then paused: the server could write only what the sockets' buffers and the body's hold take
    // (~4 MB here; without backpressure it wrote over 20 MB in 300 ms).
    expect(written).toBeLessThan(12 * 1024 * 1024);
    const ended = new Promise((resolve) => body.on('end', resolve));
    hold = false;
    body.resume();
    await ended;
    const all = Buffer.concat(parts);
    expect(all.length).toBe(total);
    for (let k = 0; k < total / chunk; k++) expect(all[k * chunk]).toBe(k % 256);
  });

  it('relays a large answer through asReadable byte for byte', async () => {
    const payload = Buffer.from(Array.from({ length: 300_000 }, (_, i) => String(i % 10)).join(''));
    handler = (_req, res) => res.end(payload);
    const { body } = await call().response;
    expect((await buffer(asReadable(body))).equals(payload)).toBe(true);
  });

  it('destroy aborts the upstream call: the server sees its client go', async () => {
    let closed = false;
    handler = (_req, res) => {
      res.write('part');
      res.on('close', () => (closed = true));
    };
    const { body } = await call().response;
    const seen = events(body);
    body.destroy();
    expect(await seen).toEqual(['close']);
    await tick(100);
    expect(closed).toBe(true);
  });

  it('breaks with an error, never an end, when the upstream dies mid-body', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('half');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const { body } = await call().response;
    const seen = await events(body);
    expect(seen[0]).toBe('data:half');
    expect(seen).not.toContain('end');
    expect(seen.at(-2)).toMatch(/^error:/);
    expect(seen.at(-1)).toBe('close');
  });

  it('an abort before the head rejects the response (also when asked before undici connected)', async () => {
    handler = () => undefined;
    const early = call();
    early.abort();
    await expect(early.response).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
    const late = call();
    await tick();
    late.abort();
    await expect(late.response).rejects.toMatchObject({ code: 'UND_ERR_ABORTED' });
  });
});
