import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { maskProxyUrl } from '@keyway/contracts';
import { EGRESS_REFUSED_CODE } from '@keyway/core';
import { egressConnector, egressLookup } from './egress-connect';
import type { EgressJudge, Resolve } from './egress-connect';
import { buildConnector, Pool, ProxyAgent } from 'undici';
import type { Dispatcher } from 'undici';
import { SocksClient } from 'socks';

/** The `code` of an error the egress proxy itself caused: never the key's fault, nor the upstream's. */
export const PROXY_FAILED_CODE = 'KW_PROXY_FAILED';

/** The proxy refused, could not be reached, or failed the CONNECT or SOCKS handshake (407, 5xx, auth). */
export class ProxyFailedError extends Error {
  readonly code = PROXY_FAILED_CODE;
  constructor(proxyUrl: string, why: string, cause?: unknown) {
    // The message names the proxy masked: it ends up in request logs, and the URL may carry credentials.
    super(`proxy ${maskProxyUrl(proxyUrl)} failed: ${why}`, cause === undefined ? {} : { cause });
  }
}

/**
 * Whether a transport error text (as `errorText` renders an error: code first) is a proxy failure. undici hands a
 * connector's error to the request unchanged, so the code set here is the code the attempt sees.
 */
export function isProxyFailureText(text: string): boolean {
  return text.startsWith(`${PROXY_FAILED_CODE} `);
}

/** The connection settings a proxied dispatcher is built with. */
export interface ProxyDispatcherOptions {
  connections: number;
  timeoutMs: number;
  keepAliveMs: number;
  /** The egress policy's connect-time judge, applied to the proxy's address (and, for `socks5://`, the upstream's). */
  judge: EgressJudge;
  resolve?: Resolve;
  /** Told every proxy failure, its text naming the proxy masked (the gateway shows it with the proxy's health). */
  onFailure?: (error: ProxyFailedError) => void;
}

/** The error a failed step of reaching the proxy becomes: egress refusals and aborts keep their own meaning. */
function asProxyFailure(
  proxyUrl: string,
  error: unknown,
  onFailure: ProxyDispatcherOptions['onFailure'],
): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === EGRESS_REFUSED_CODE || code === 'UND_ERR_ABORTED' || code === PROXY_FAILED_CODE) return error;
  const why = error instanceof Error ? error.message : 'connection failed';
  return told(
    new ProxyFailedError(proxyUrl, typeof code === 'string' ? `${code} ${why}` : why, error),
    onFailure,
  );
}

function told(error: ProxyFailedError, onFailure: ProxyDispatcherOptions['onFailure']): ProxyFailedError {
  onFailure?.(error);
  return error;
}

/**
 * A dispatcher towards `origin` that sends every request through `proxyUrl` (like the direct `Pool`, requests name
 * only their path). HTTP(S) proxies use undici's `ProxyAgent` with a
 * CONNECT tunnel for http and https upstreams alike: every proxy failure then happens while connecting, where it is
 * told apart from the upstream's own responses (with absolute-form a proxy's 502 reads like the upstream's).
 * SOCKS5 goes through the `socks` client in an undici `Agent` connector; `socks5://` resolves the upstream's name
 * here (and the egress policy judges the address), `socks5h://` lets the proxy resolve it.
 */
export function proxyDispatcher(origin: string, proxyUrl: string, o: ProxyDispatcherOptions): Dispatcher {
  const url = new URL(proxyUrl);
  const pooling = {
    connections: o.connections,
    keepAliveTimeout: o.keepAliveMs,
    keepAliveMaxTimeout: o.keepAliveMs,
  };
  if (url.protocol === 'socks5:' || url.protocol === 'socks5h:')
    return new Pool(origin, { ...pooling, pipelining: 1, connect: socksConnector(url, o) });
  const toProxy = egressConnector(buildConnector, url, {
    timeoutMs: o.timeoutMs,
    judge: o.judge,
    ...(o.resolve ? { resolve: o.resolve } : {}),
  });
  const agent = new ProxyAgent({
    uri: proxyUrl,
    ...pooling,
    connectTimeout: o.timeoutMs,
    // The connection to the proxy: judged by the egress policy, and every failure of it tagged as the proxy's.
    clientFactory: (proxyOrigin: URL | string) =>
      taggedProxyPool(proxyUrl, proxyOrigin, toProxy, o.onFailure),
  });
  return agent.compose((dispatch) => (options, handler) => dispatch({ ...options, origin }, handler));
}

/** A pool to the proxy whose CONNECT fails with a {@link ProxyFailedError} (undici's would read as an abort). */
function taggedProxyPool(
  proxyUrl: string,
  origin: URL | string,
  connect: ReturnType<typeof buildConnector>,
  onFailure: ProxyDispatcherOptions['onFailure'],
): Dispatcher {
  const pool = new Pool(origin, { connect });
  // Bound before it is replaced below.
  const connectThrough: (o: Dispatcher.ConnectOptions) => Promise<Dispatcher.ConnectData> =
    pool.connect.bind(pool);
  Object.assign(pool, {
    connect: async (options: Dispatcher.ConnectOptions) => {
      let data: Dispatcher.ConnectData;
      try {
        data = await connectThrough(options);
      } catch (error) {
        throw asProxyFailure(proxyUrl, error, onFailure);
      }
      if (data.statusCode === 200) return data;
      data.socket.on('error', () => {}).destroy();
      throw told(new ProxyFailedError(proxyUrl, `CONNECT answered ${data.statusCode}`), onFailure);
    },
  });
  return pool;
}

type ConnectCallback = (error: Error | null, socket: Socket | null) => void;

/** An undici connector that opens each upstream connection through a SOCKS5 proxy. */
function socksConnector(url: URL, o: ProxyDispatcherOptions): buildConnector.connector {
  const proxyUrl = url.href;
  const proxyPort = url.port === '' ? 1080 : Number(url.port);
  const proxyHost = url.hostname.replace(/^\[|\]$/g, '');
  const remoteDns = url.protocol === 'socks5h:';
  const resolveTo = (host: string, port: number): Promise<string> =>
    new Promise((resolve, reject) => {
      if (isIP(host) !== 0) {
        const refused = o.judge(host, port);
        return refused ? reject(refused) : resolve(host);
      }
      egressLookup(o.judge, port, o.resolve)(host, { all: false }, (err, address) =>
        err ? reject(err) : resolve(address as string),
      );
    });
  return ((options: buildConnector.Options, callback: ConnectCallback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    const https = options.protocol === 'https:';
    const port = options.port ? Number(options.port) : https ? 443 : 80;
    void (async () => {
      let proxyAddress: string;
      let destination: string;
      try {
        proxyAddress = await resolveTo(proxyHost, proxyPort).catch((e: unknown) => {
          throw asProxyFailure(proxyUrl, e, o.onFailure);
        });
        destination = remoteDns ? host : await resolveTo(host, port);
      } catch (error) {
        return callback(error as Error, null);
      }
      let socket: Socket;
      try {
        ({ socket } = await SocksClient.createConnection({
          proxy: {
            host: proxyAddress,
            port: proxyPort,
            type: 5,
            ...(url.username ? { userId: decodeURIComponent(url.username) } : {}),
            ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
          },
          command: 'connect',
          destination: { host: destination, port },
          timeout: o.timeoutMs,
        }));
      } catch (error) {
        return callback(asProxyFailure(proxyUrl, error, o.onFailure) as Error, null);
      }
      if (!https) return callback(null, socket);
      const secure = tlsConnect({
        socket,
        servername: isIP(host) === 0 ? (options.servername ?? host) : undefined,
        ALPNProtocols: ['http/1.1'],
      });
      // The connect timeout covers the TLS handshake too, as undici's own connector does.
      const timer = setTimeout(() => {
        const error = Object.assign(new Error('TLS handshake through the proxy timed out'), {
          code: 'UND_ERR_CONNECT_TIMEOUT',
        });
        secure.destroy(error);
      }, o.timeoutMs);
      secure
        .once('secureConnect', () => {
          clearTimeout(timer);
          callback(null, secure);
        })
        .once('error', (error: Error) => {
          clearTimeout(timer);
          callback(error, null);
        });
    })();
  }) as buildConnector.connector;
}
