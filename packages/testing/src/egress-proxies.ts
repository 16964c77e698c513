import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

/** What a test proxy saw: the targets it connected to, the credentials presented, its outgoing ports and bytes. */
export interface ProxySeen {
  targets: string[];
  credentials: string[];
  /** Local ports of the proxy's own connections to the targets (what the upstream sees as the remote port). */
  outgoingPorts: number[];
  /** Bytes the client sent through the tunnel (plain HTTP upstreams: the request itself). */
  bytes: string;
}

/** A running test proxy. */
export interface TestProxy {
  port: number;
  seen: ProxySeen;
  close(): Promise<void>;
}

const fresh = (): ProxySeen => ({ targets: [], credentials: [], outgoingPorts: [], bytes: '' });

/** Opens the tunnel from the proxy to `host:port`, recording what went through it. */
function tunnel(client: Socket, host: string, port: number, seen: ProxySeen, ready: () => void): void {
  seen.targets.push(`${host}:${port}`);
  const up = connect(port, host, () => {
    seen.outgoingPorts.push(up.localPort ?? 0);
    ready();
    client.on('data', (d: Buffer) => (seen.bytes += d.toString('latin1')));
    client.pipe(up);
    up.pipe(client);
  });
  up.on('error', () => client.destroy());
  client.on('error', () => up.destroy());
}

function listen(server: Server, sockets: Set<Socket>, seen: ProxySeen): Promise<TestProxy> {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        seen,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      }),
    ),
  );
}

/** An HTTP proxy answering CONNECT (Basic credentials required when `auth` is given; 407 otherwise). */
export function startHttpProxy(auth?: { user: string; pass: string }): Promise<TestProxy> {
  const seen = fresh();
  const server = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: Socket, head: Buffer) => {
    const presented = req.headers['proxy-authorization'];
    if (presented) seen.credentials.push(Buffer.from(presented.replace(/^Basic /, ''), 'base64').toString());
    if (auth && presented !== `Basic ${Buffer.from(`${auth.user}:${auth.pass}`).toString('base64')}`) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
      return;
    }
    const [host = '', port = '80'] = (req.url ?? '').split(/:(?=\d+$)/);
    tunnel(client, host, Number(port), seen, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) client.unshift(head);
    });
  });
  return listen(server, new Set(), seen);
}

/** Reads exactly `n` bytes from a socket; `release` hands the socket on (the client waits for each reply). */
function reader(socket: Socket) {
  let buffered = Buffer.alloc(0);
  const waiting: Array<() => void> = [];
  const onData = (d: Buffer) => {
    buffered = Buffer.concat([buffered, d]);
    waiting.splice(0).forEach((w) => w());
  };
  socket.on('data', onData);
  const read = async (n: number): Promise<Buffer> => {
    while (buffered.length < n) await new Promise<void>((r) => waiting.push(r));
    const out = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return out;
  };
  return { read, release: () => void socket.off('data', onData) };
}

/** A SOCKS5 proxy (RFC 1928 CONNECT; RFC 1929 user/password when `auth` is given). */
export function startSocks5Proxy(auth?: { user: string; pass: string }): Promise<TestProxy> {
  const seen = fresh();
  const server = createServer((client) => {
    client.on('error', () => client.destroy());
    void (async () => {
      const { read, release } = reader(client);
      const [, methods = 0] = await read(2);
      const offered = [...(await read(methods))];
      const method = auth ? 0x02 : 0x00;
      if (!offered.includes(method)) return client.end(Buffer.from([5, 0xff]));
      client.write(Buffer.from([5, method]));
      if (auth) {
        const [, ulen = 0] = await read(2);
        const user = (await read(ulen)).toString();
        const [plen = 0] = await read(1);
        const pass = (await read(plen)).toString();
        seen.credentials.push(`${user}:${pass}`);
        const ok = user === auth.user && pass === auth.pass;
        client.write(Buffer.from([1, ok ? 0 : 1]));
        if (!ok) return client.end();
      }
      const [, , , atyp] = await read(4);
      const host =
        atyp === 3
          ? (await read((await read(1))[0] ?? 0)).toString()
          : [...(await read(atyp === 4 ? 16 : 4))].join('.');
      const port = (await read(2)).readUInt16BE(0);
      release();
      tunnel(client, host, port, seen, () => client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0])));
    })();
  });
  return listen(server, new Set(), seen);
}

/** Test proxies of each kind a pool may hold, and their URLs in pool order. */
export interface TestProxyPool {
  /** A CONNECT proxy, a SOCKS5 proxy resolving names itself, a CONNECT proxy with a password. */
  proxies: TestProxy[];
  /** `http://…`, `socks5h://…`, `http://pool:pool-pass-1@…`, in the order of `proxies`. */
  pool: string[];
  close(): Promise<void>;
}

/** Starts one proxy of each kind a group's `proxyPool` may hold. */
export async function startProxyPool(): Promise<TestProxyPool> {
  const proxies = [
    await startHttpProxy(),
    await startSocks5Proxy(),
    await startHttpProxy({ user: 'pool', pass: 'pool-pass-1' }),
  ];
  const [plain, socks, withPassword] = proxies.map((p) => p.port);
  return {
    proxies,
    pool: [
      `http://127.0.0.1:${plain}`,
      `socks5h://127.0.0.1:${socks}`,
      `http://pool:pool-pass-1@127.0.0.1:${withPassword}`,
    ],
    // A proxy a test closed already closes again without error.
    close: async () => void (await Promise.allSettled(proxies.map((p) => p.close()))),
  };
}
