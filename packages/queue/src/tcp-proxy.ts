// Test support (not exported by the package): a TCP proxy to take a server away from its clients and back.
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/** A local TCP port nothing listens on (just freed by the OS). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

/** A proxy on a local port whose target can be made unreachable (`down`) and reachable again (`up`). */
export interface TcpProxy {
  readonly port: number;
  /** Cuts every connection and refuses new ones, as a crashed server would. */
  down(): Promise<void>;
  /** Accepts connections again. */
  up(): Promise<void>;
}

/** Starts a {@link TcpProxy} to `host:port`. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const listenPort = await freePort();
  let server: Server | null = null;
  const pipe = (client: Socket): void => {
    const upstream = connect(port, host);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', drop).on('close', drop);
    }
    client.pipe(upstream).pipe(client);
  };
  const proxy: TcpProxy = {
    port: listenPort,
    up: () =>
      new Promise<void>((resolve, reject) => {
        if (server) return resolve();
        const starting = createServer(pipe);
        server = starting;
        starting.once('error', reject);
        starting.listen(listenPort, '127.0.0.1', resolve);
      }),
    down: async () => {
      const closing = server;
      server = null;
      for (const socket of sockets) socket.destroy();
      if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
  await proxy.up();
  return proxy;
}
