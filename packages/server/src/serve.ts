import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener, ServerOptions, ServerResponse } from 'node:http';
import { serve } from '@hono/node-server';
import type { Logger } from '@keyway/observability';
import { headSafeFetch } from './head-safe';
import type { NodeFetch } from './two-phase';

/** Prints why the process cannot start and exits with status 1 (for env and start-up errors). */
export function fail(name: string, message: string): never {
  process.stderr.write(`${name}: cannot start\n${message}\n`);
  process.exit(1);
}

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** Process name in messages, e.g. `keyway-gateway`. */
  name: string;
  fetch: NodeFetch;
  port: number;
  host: string;
  logger: Logger;
  /** How long in-flight requests may run after SIGTERM before their connections are cut. */
  shutdownTimeoutSeconds: number;
  /** Closes what the process holds (queues, pools, clients) once the server stopped taking requests. */
  close: () => Promise<void>;
  /** Called as soon as a shutdown starts (e.g. to answer not-ready to the load balancer). */
  onShutdownStart?: () => void;
  /**
   * Takes a request before any router sees it (returns true when it did): the data plane's hot path, which works
   * on node's request and response and needs no web Request or router context built for it.
   */
  direct?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** A node server that offers each request to `direct` first, then to the fetch adapter's listener. */
function directFirst(direct: NonNullable<StartServerOptions['direct']>) {
  return (serverOptions: ServerOptions, listener: RequestListener) =>
    createServer(serverOptions, (req, res) => {
      if (!direct(req, res)) listener(req, res);
    });
}

/**
 * Listens and handles SIGTERM/SIGINT gracefully: stop accepting, let in-flight requests (streams included)
 * finish within the timeout, close the dependencies, exit 0. A second signal does not cut the first short.
 */
export function startServer(options: StartServerOptions): { stop: (signal: string) => void } {
  const { logger } = options;
  const server = serve(
    {
      fetch: headSafeFetch(options.fetch) as (request: Request) => Response | Promise<Response>,
      port: options.port,
      hostname: options.host,
      ...(options.direct ? { createServer: directFirst(options.direct) as typeof createServer } : {}),
    },
    (info) => {
      const shown = options.host === '0.0.0.0' ? 'localhost' : options.host;
      logger.info(
        { port: info.port, host: options.host },
        `${options.name} listening on http://${shown}:${info.port}`,
      );
    },
  );
  server.on('error', (err) =>
    fail(options.name, `could not listen on ${options.host}:${options.port}: ${(err as Error).message}`),
  );
  const connections = server as unknown as {
    closeAllConnections?: () => void;
    closeIdleConnections?: () => void;
  };

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    options.onShutdownStart?.();
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const deadline = setTimeout(() => {
      logger.warn({}, 'shutdown timeout reached; closing remaining connections');
      connections.closeAllConnections?.();
    }, options.shutdownTimeoutSeconds * 1000);
    deadline.unref();
    connections.closeIdleConnections?.();
    server.close(() => {
      clearTimeout(deadline);
      options
        .close()
        .catch((err: unknown) => logger.error({ err }, 'error while closing'))
        .finally(() => {
          logger.info({}, 'stopped');
          process.exit(0);
        });
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return { stop };
}
