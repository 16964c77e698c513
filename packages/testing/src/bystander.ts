import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local listener that is not an AI upstream: what reached it (an egress test wants nothing to). */
export interface Bystander {
  seen: { connections: number; headers: IncomingHttpHeaders[] };
  port: number;
  close: () => Promise<void>;
}

/**
 * Starts a local service on 127.0.0.1 that records every connection and the headers of every request (so a test
 * sees whether a key was sent to it), answering 200 with `body` as JSON.
 */
export async function startBystander(body: string): Promise<Bystander> {
  const seen: Bystander['seen'] = { connections: 0, headers: [] };
  const server = createServer((req, res) => {
    seen.headers.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  server.on('connection', () => seen.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    seen,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
