import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback server that answers every request with the response set last (what an SDK under test reads). */
export interface JsonServer {
  url: string;
  /** The response of the following requests. */
  respond(status: number, body: string): void;
  close(): Promise<void>;
}

/** Starts a `JsonServer` on 127.0.0.1. */
export async function startJsonServer(): Promise<JsonServer> {
  let next = { status: 500, body: '{}' };
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      res.writeHead(next.status, { 'content-type': 'application/json' });
      res.end(next.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    respond(status, body) {
      next = { status, body };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
