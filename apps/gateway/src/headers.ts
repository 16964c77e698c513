import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { extractProxyKey as readProxyKey, isAccountHeader, isCredentialHeader } from '@keyway/providers';
import type { HeaderMap } from '@keyway/providers';
import { rateLimitsOf } from './respond';

/**
 * Never forwarded upstream: hop-by-hop headers (RFC 9110 §7.6.1), the admin session cookie, and headers the
 * gateway sets itself. The client's credential headers of every channel (the proxy key) go too: the providers
 * name them.
 */
const DROP_REQUEST = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'cookie',
  'x-request-id',
  // W3C trace context: sent upstream only with OTEL_PROPAGATE_UPSTREAM=true (the upstream call adds it then).
  'traceparent',
  'tracestate',
]);

const FORWARDED = new Set([
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'forwarded',
]);

/**
 * Never relayed to the client: hop-by-hop headers (node sets its own framing). Headers that identify the
 * upstream account behind the pool go too (a caller has no business knowing whose organisation serves it): the
 * providers name them.
 */
const DROP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-connection',
  'trailer',
  'upgrade',
]);

/** Copies the client's headers for an upstream attempt, minus everything in DROP_REQUEST. */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  bodyLength: number | null,
  keepForwarded: boolean,
): HeaderMap {
  const out: HeaderMap = {};
  const named = connectionTokens(incoming.connection);
  for (const name in incoming) {
    if (DROP_REQUEST.has(name) || isCredentialHeader(name) || named?.has(name)) continue;
    if (!keepForwarded && FORWARDED.has(name)) continue;
    out[name] = incoming[name];
  }
  if (bodyLength !== null) out['content-length'] = String(bodyLength);
  return out;
}

/**
 * Upstream response headers to send to `res`'s client. A response to an access key with limits carries the
 * key's own `x-ratelimit-*` headers (see `tagRateLimits`) instead of the upstream's, which describe a pooled key.
 */
export function clientHeaders(
  upstream: Record<string, string | string[] | undefined>,
  res?: ServerResponse,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = connectionTokens(upstream.connection);
  const limits = res && rateLimitsOf(res);
  for (const name in upstream) {
    const v = upstream[name];
    if (v === undefined || DROP_RESPONSE.has(name) || isAccountHeader(name) || named?.has(name)) continue;
    if (limits && name.startsWith('x-ratelimit-')) continue;
    // The response's x-request-id is Keyway's (the client's own or generated); keep the provider's apart.
    out[name === 'x-request-id' ? 'x-upstream-request-id' : name] = v;
  }
  return limits ? Object.assign(out, limits) : out;
}

/** The proxy key from any channel's credential slot (`?key=`, Bearer, `x-api-key`, …), removed from the query. */
export function extractProxyKey(
  headers: IncomingHttpHeaders,
  query: string,
): { key: string | null; query: string } {
  return readProxyKey(headers, query);
}

/** Header names listed in `Connection` are hop-by-hop too (RFC 9110 §7.6.1); null when there are none. */
function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (!value) return null;
  const text = Array.isArray(value) ? value.join(',') : value;
  if (!text.includes(',') && /^(keep-alive|close)$/i.test(text.trim())) return null;
  return new Set(
    text
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}
