import type { ServerResponse } from 'node:http';
import type { Provider } from '@keyway/providers';

const REQUEST_ID = Symbol('keyway.requestId');
const RATE_LIMITS = Symbol('keyway.rateLimits');
const DIALECT = Symbol('keyway.dialect');
type Dialect = Pick<Provider, 'renderError'>;
type Tagged = ServerResponse & {
  [REQUEST_ID]?: string;
  [RATE_LIMITS]?: Record<string, string>;
  [DIALECT]?: Dialect;
};

/**
 * Remembers the request id a response must carry (`x-request-id`). Every response of the proxy is written with one
 * `writeHead(status, headers)` that includes it: a `setHeader` first made node merge two header sets per response.
 */
export function tagRequestId(res: ServerResponse, id: string): void {
  (res as Tagged)[REQUEST_ID] = id;
}

/** The request id `tagRequestId` gave this response, if any. */
export function requestIdOf(res: ServerResponse): string | undefined {
  return (res as Tagged)[REQUEST_ID];
}

/**
 * Remembers the `x-ratelimit-*` headers describing the request's access key: every response head written for it
 * carries them (gateway-made errors here, upstream answers through `clientHeaders`) in place of the upstream's.
 */
export function tagRateLimits(res: ServerResponse, headers: Record<string, string>): void {
  (res as Tagged)[RATE_LIMITS] = headers;
}

/** The headers `tagRateLimits` gave this response, if any. */
export function rateLimitsOf(res: ServerResponse): Record<string, string> | undefined {
  return (res as Tagged)[RATE_LIMITS];
}

/**
 * Makes every gateway-made error of this response speak `dialect` whatever channel it names (a translated request:
 * the caller's SDK must parse the error), set before the first error can be sent.
 */
export function tagDialect(res: ServerResponse, dialect: Dialect): void {
  (res as Tagged)[DIALECT] = dialect;
}

/** Sends a gateway-made error in the channel's dialect (so SDKs raise their usual errors). */
export function sendDialectError(
  res: ServerResponse,
  provider: Pick<Provider, 'renderError'>,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = ((res as Tagged)[DIALECT] ?? provider).renderError(status, code, message);
  const id = requestIdOf(res);
  res.writeHead(status, {
    ...(id === undefined ? {} : { 'x-request-id': id }),
    ...rateLimitsOf(res),
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}
