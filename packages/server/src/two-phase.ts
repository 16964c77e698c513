import type { HttpBindings } from '@hono/node-server';
import type { Logger } from '@keyway/observability';
import { Hono } from 'hono';
import type { OpsRoutesOptions } from './ops-routes';
import { mountJsonNotFound, mountOpsRoutes } from './ops-routes';

/** The fetch handler a node server calls. */
export type NodeFetch = (request: Request, bindings: HttpBindings) => Response | Promise<Response>;

/**
 * A fetch handler for an app whose dependencies load in the background: until `build()` returns an app, only
 * `/health`, `/ready` and `/metrics` answer (everything else 503 with Retry-After); from then on the built app,
 * with the ops routes mounted on it, serves everything — no extra routing layer on the hot path.
 */
export function twoPhaseFetch(options: {
  ops: OpsRoutesOptions;
  build: () => Hono<{ Bindings: HttpBindings }> | null;
  logger: Logger;
  startingMessage: string;
}): NodeFetch {
  const starting = new Hono<{ Bindings: HttpBindings }>();
  mountOpsRoutes(starting, options.ops);
  starting.all('*', (c) =>
    c.json({ error: { code: 'UNAVAILABLE', message: options.startingMessage } }, 503, { 'retry-after': '1' }),
  );
  let serving: Hono<{ Bindings: HttpBindings }> | null = null;
  return (request, bindings) => {
    if (!serving) {
      const app = options.build();
      if (!app) return starting.fetch(request, bindings);
      const full = new Hono<{ Bindings: HttpBindings }>();
      mountOpsRoutes(full, options.ops);
      full.route('/', app);
      mountJsonNotFound(full);
      serving = full;
      options.logger.info({}, 'ready: dependencies loaded, serving');
    }
    return serving.fetch(request, bindings);
  };
}
