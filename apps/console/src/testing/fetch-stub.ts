import { vi } from 'vitest';

/** One recorded call of the stubbed fetch. */
export interface Call {
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  init: RequestInit;
}

type Reply = Response | ((call: Call) => Response);

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function apiError(status: number, code: string, message: string, details?: unknown): Response {
  return json({ error: { code, message, ...(details === undefined ? {} : { details }) } }, status);
}

/**
 * A fetch for tests: replies by `METHOD /path` (query ignored), records every call, and answers 404 for
 * anything unexpected so a test fails loudly instead of hanging.
 */
export function stubFetch(routes: Record<string, Reply> = {}) {
  const calls: Call[] = [];
  const table = new Map(Object.entries(routes));
  const fetch = vi.fn((input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = input instanceof Request ? input.url : input.toString();
    const parsed = new URL(url, 'http://console.test');
    const method = (init.method ?? 'GET').toUpperCase();
    const body: unknown =
      typeof init.body === 'string'
        ? JSON.parse(init.body)
        : init.body instanceof FormData
          ? init.body
          : undefined;
    const call: Call = { method, url, path: parsed.pathname, query: parsed.searchParams, body, init };
    calls.push(call);
    const reply = table.get(`${method} ${parsed.pathname}`);
    if (!reply)
      return Promise.resolve(apiError(404, 'NOT_FOUND', `no stub for ${method} ${parsed.pathname}`));
    return Promise.resolve(typeof reply === 'function' ? reply(call) : reply.clone());
  });
  return {
    fetch,
    calls,
    on(route: string, reply: Reply) {
      table.set(route, reply);
    },
    /** Calls of one route, e.g. `callsTo('PATCH /api/settings')`. */
    callsTo(route: string): Call[] {
      return calls.filter((c) => `${c.method} ${c.path}` === route);
    },
  };
}
