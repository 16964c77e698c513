import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { NodeFetch } from './two-phase';

/**
 * Hono answers HEAD by running the GET route and wrapping its result in `new Response(null, result)`. For a
 * handler that wrote to the raw node response itself (the proxy) that copy is no longer the node server's
 * `RESPONSE_ALREADY_SENT` marker, so the server wrote the head a second time (ERR_HTTP_HEADERS_SENT on every
 * HEAD). Only HEAD requests pay for the check.
 */
export function headSafeFetch(fetch: NodeFetch): NodeFetch {
  return (request, bindings: HttpBindings) => {
    if (request.method !== 'HEAD') return fetch(request, bindings);
    return Promise.resolve(fetch(request, bindings)).then((response) =>
      bindings.outgoing.headersSent ? RESPONSE_ALREADY_SENT : response,
    );
  };
}
