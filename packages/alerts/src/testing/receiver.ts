// Test-only: a local webhook receiver (node:http) standing in for Slack, Feishu, a generic webhook… It records
// every request (path, query, headers, raw body) and answers what the test scripts.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface ReceivedAlert {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The raw body: signatures are computed over these exact bytes. */
  raw: string;
  json: unknown;
}

/** What to answer: a status, a body, or a redirect. */
export interface ReceiverAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/** A running receiver. */
export interface AlertReceiver {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  received: ReceivedAlert[];
  /** Replaces how requests are answered (default 200 `ok`). */
  answer(fn: (req: ReceivedAlert, n: number) => ReceiverAnswer): void;
  /** Resolves once `count` requests arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedAlert[]>;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 at a free port. */
export async function startAlertReceiver(): Promise<AlertReceiver> {
  const received: ReceivedAlert[] = [];
  let answer: (req: ReceivedAlert, n: number) => ReceiverAnswer = () => ({ status: 200, body: 'ok' });
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(raw);
      } catch {
        json = null;
      }
      const r: ReceivedAlert = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        raw,
        json,
      };
      received.push(r);
      const a = answer(r, received.length);
      res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers });
      res.end(a.body ?? '');
      for (const w of waiters.filter((x) => received.length >= x.count)) w.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    answer(fn) {
      answer = fn;
    },
    waitFor(count, timeoutMs = 10_000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the receiver got ${received.length} of ${count} request(s)`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
