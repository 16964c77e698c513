import { errorEnvelopeSchema } from '@keyway/contracts';
import type { ValidationIssue } from '@keyway/contracts';
import type { z } from 'zod';

/** Codes the console adds to the API's own (`@keyway/contracts` errorCodeSchema). */
export type ClientErrorCode = 'NETWORK' | 'BAD_RESPONSE' | 'HTTP_ERROR';

/** Every failed API call rejects with this: the envelope's code, message and details, plus the status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** VALIDATION_FAILED details as `path → message` (the first message per path). */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    if (!Array.isArray(this.details)) return out;
    for (const issue of this.details as ValidationIssue[]) {
      if (typeof issue?.path === 'string' && typeof issue.message === 'string')
        out[issue.path] ??= issue.message;
    }
    return out;
  }
}

/** Hooks the app fills in at start (toasts, back to login); tests pass their own. */
export interface HttpHooks {
  /** Called on any 401 except for calls made with `auth: false`. */
  onUnauthorized?: (error: ApiError) => void;
  /** Called on any other failure unless the call is `silent`. */
  onError?: (error: ApiError) => void;
  /** Extra headers per call, e.g. Accept-Language. */
  headers?: () => Record<string, string>;
}

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** Don't report the failure through `onError` (the caller shows it itself). */
  silent?: boolean;
  /** `false` for the login and session calls: a 401 there is an answer, not an expired session. */
  auth?: boolean;
  signal?: AbortSignal;
}

export interface HttpOptions {
  /** Prefix of every path; '' means the page's own origin. */
  baseUrl?: string;
  fetch?: typeof fetch;
  hooks?: HttpHooks;
}

/** A downloaded file: its content and the name the server suggests. */
export interface Download {
  blob: Blob;
  filename: string | null;
}

export interface Http {
  /** A JSON call whose response is parsed with `schema`. */
  json<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    opts?: RequestOptions,
  ): Promise<z.output<S>>;
  /** A call answered with no body (204). */
  send(method: string, path: string, opts?: RequestOptions): Promise<void>;
  /** A GET answered with a file (CSV, text). */
  download(path: string, opts?: RequestOptions): Promise<Download>;
  /** The URL of a path with its query string. */
  url(path: string, query?: Record<string, QueryValue>): string;
}

const STATUS_CODES: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMITED',
  500: 'INTERNAL',
};

function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

async function errorFrom(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's HTML error page, an empty body): fall back to the status.
  }
  const parsed = errorEnvelopeSchema.safeParse(body);
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    return new ApiError(res.status, code, message, details);
  }
  const code = STATUS_CODES[res.status] ?? 'HTTP_ERROR';
  return new ApiError(res.status, code, `${res.status} ${res.statusText}`.trim());
}

function filenameOf(res: Response): string | null {
  const cd = res.headers.get('content-disposition') ?? '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

/** Creates the admin API client: same-origin cookies, JSON bodies, envelope errors as ApiError. */
export function createHttp(options: HttpOptions = {}): Http {
  const base = (options.baseUrl ?? '').replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const hooks = options.hooks ?? {};

  const url = (path: string, query?: Record<string, QueryValue>) => `${base}${path}${queryString(query)}`;

  function fail(error: ApiError, opts: RequestOptions): never {
    if (error.status === 401 && opts.auth !== false) hooks.onUnauthorized?.(error);
    else if (!opts.silent) hooks.onError?.(error);
    throw error;
  }

  async function call(method: string, path: string, opts: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...hooks.headers?.() };
    let body: string | FormData | undefined;
    // A FormData body (a file upload) is sent as multipart: fetch sets the boundary in its content type.
    if (opts.body instanceof FormData) body = opts.body;
    else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let res: Response;
    try {
      res = await doFetch(url(path, opts.query), {
        method,
        headers,
        body,
        credentials: 'same-origin',
        signal: opts.signal,
      });
    } catch (cause) {
      if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
      const message = cause instanceof Error ? cause.message : String(cause);
      return fail(new ApiError(0, 'NETWORK', message || 'Network error'), opts);
    }
    if (!res.ok) return fail(await errorFrom(res), opts);
    return res;
  }

  return {
    url,
    async json(method, path, schema, opts = {}) {
      const res = await call(method, path, opts);
      let data: unknown;
      try {
        data = await res.json();
      } catch {
        return fail(new ApiError(res.status, 'BAD_RESPONSE', 'The response is not JSON'), opts);
      }
      const parsed = schema.safeParse(data);
      if (!parsed.success)
        return fail(
          new ApiError(
            res.status,
            'BAD_RESPONSE',
            'Unexpected response from the server',
            parsed.error.issues,
          ),
          opts,
        );
      return parsed.data;
    },
    async send(method, path, opts = {}) {
      await call(method, path, opts);
    },
    async download(path, opts = {}) {
      const res = await call('GET', path, opts);
      return { blob: await res.blob(), filename: filenameOf(res) };
    },
  };
}
