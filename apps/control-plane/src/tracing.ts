import { failSpan } from '@keyway/observability';
import type { Tracing } from '@keyway/observability';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';

/**
 * One SERVER span per admin request, named by its route template (`GET /api/groups/:id`), under the caller's
 * `traceparent`. Mounted only when tracing is on. Carries method, route and status: never a query, a body or a
 * header (the admin key and session cookie travel there).
 */
export function traceAdmin(tracing: Tracing): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    const span = tracing.startSpan(
      `${method} ${c.req.path}`,
      'server',
      { 'http.request.method': method },
      { traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') },
    );
    try {
      await next();
    } finally {
      // The template of the handler that answered (its index is the last one run).
      const route = routePath(c) || c.req.path;
      const status = c.res.status;
      span.updateName(`${method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
      if (status >= 500) failSpan(span, String(status));
      span.end();
    }
  };
}
