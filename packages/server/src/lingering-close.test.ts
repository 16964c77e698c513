import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { lingeringClose } from './lingering-close';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function listen(handler: RequestListener): Promise<number> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function tooLarge(req: IncomingMessage, res: ServerResponse, linger: boolean): void {
  if (linger) lingeringClose(req, res, { maxMs: 1000 });
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
  res.end('{"error":{"code":"PAYLOAD_TOO_LARGE"}}');
}

interface Upload {
  status: number | null;
  error: string | null;
}

/** Writes the whole body like an SDK does (node:http, Content-Length), whatever the server answers meanwhile. */
function upload(port: number, body: Buffer | (() => NodeJS.ReadableStream)): Promise<Upload> {
  return new Promise((resolve) => {
    let status: number | null = null;
    let error: string | null = null;
    const headers = Buffer.isBuffer(body) ? { 'content-length': String(body.length) } : {};
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
      status = res.statusCode ?? null;
      res.resume();
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    // Settled when the connection is gone, so an error after the response still counts.
    req.on('socket', (socket) => socket.on('close', () => resolve({ status, error })));
    if (Buffer.isBuffer(body)) req.end(body);
    else body().pipe(req);
  });
}

describe('lingering close', () => {
  it('lets every client that uploads a too-large body read the 413 with no EPIPE or reset', async () => {
    const port = await listen((req, res) => tooLarge(req, res, true));
    const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const results: Upload[] = [];
    for (let i = 0; i < 20; i++) results.push(await upload(port, body));
    expect(results.filter((r) => r.status === 413)).toHaveLength(20);
    expect(results.filter((r) => r.error !== null)).toEqual([]);
  });

  it('is what makes the difference: closing at once resets most of those uploads', async () => {
    const port = await listen((req, res) => tooLarge(req, res, false));
    const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const results: Upload[] = [];
    for (let i = 0; i < 10; i++) results.push(await upload(port, body));
    expect(results.filter((r) => r.error !== null).length).toBeGreaterThan(0);
  });

  it('answers a body that was partly read, without buffering the rest', async () => {
    const port = await listen((req, res) => {
      let seen = 0;
      const onData = (chunk: Buffer) => {
        seen += chunk.length;
        if (seen < 64 * 1024) return;
        req.off('data', onData);
        req.pause();
        tooLarge(req, res, true);
      };
      req.on('data', onData);
    });
    const results: Upload[] = [];
    for (let i = 0; i < 10; i++) results.push(await upload(port, Buffer.alloc(6 * 1024 * 1024, 0x62)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(413));
    expect(results.filter((r) => r.error !== null)).toEqual([]);
  });

  it('stops discarding after the time bound when the client never stops sending', async () => {
    const port = await listen((req, res) => tooLarge(req, res, true));
    const started = Date.now();
    // A raw socket that announces a huge body and keeps writing, whatever it is told.
    const result = await new Promise<{ head: string; closedAfterMs: number }>((resolve) => {
      let head = '';
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
        socket.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100000000000\r\n\r\n');
        const chunk = Buffer.alloc(16 * 1024, 0x63);
        const timer = setInterval(() => socket.writable && socket.write(chunk), 5);
        socket.on('close', () => {
          clearInterval(timer);
          resolve({ head, closedAfterMs: Date.now() - started });
        });
      });
      socket.on('data', (d: Buffer) => (head += d.toString('latin1')));
      socket.on('error', () => undefined);
    });
    expect(result.head).toMatch(/^HTTP\/1\.1 413 .*\r\nconnection: close\r\n/is);
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(result.closedAfterMs).toBeLessThan(5000);
  });
});
