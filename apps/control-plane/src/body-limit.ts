import type { HttpBindings } from '@hono/node-server';
import { AppError } from '@keyway/core';
import { lingeringClose } from '@keyway/server';
import type { MiddlewareHandler } from 'hono';

const KiB = 1024;
const MiB = 1024 * KiB;

/** What one route accepts as a body. */
export interface BodyRule {
  maxBytes: number;
  /** The route takes file uploads: `multipart/form-data` is accepted besides JSON (see csrf.ts). */
  multipart?: boolean;
}

/** Every `/api` route not listed in {@link BODY_RULES}. */
export const DEFAULT_BODY_RULE: BodyRule = { maxBytes: 1 * MiB };

/** Routes whose bodies differ from the default, by method and path (as routed, percent-decoded). First match wins. */
export const BODY_RULES: readonly { method: string; path: RegExp; rule: BodyRule }[] = [
  // Unauthenticated: whatever it reads, anyone can make it read.
  { method: 'POST', path: /^\/api\/auth\/login$/, rule: { maxBytes: 16 * KiB } },
  // Pasted or uploaded key lists (the schema allows 64 MiB of key text).
  { method: 'POST', path: /^\/api\/groups\/[^/]+\/keys$/, rule: { maxBytes: 64 * MiB } },
  { method: 'DELETE', path: /^\/api\/groups\/[^/]+\/keys$/, rule: { maxBytes: 64 * MiB } },
  // A GPT-Load SQLite database (issue 12).
  { method: 'POST', path: /^\/api\/import\/gpt-load$/, rule: { maxBytes: 256 * MiB, multipart: true } },
];

/** The body rule of a request. */
export function bodyRuleFor(method: string, path: string): BodyRule {
  return BODY_RULES.find((r) => r.method === method && r.path.test(path))?.rule ?? DEFAULT_BODY_RULE;
}

function tooLarge(maxBytes: number): AppError {
  const limit = maxBytes >= MiB ? `${maxBytes / MiB} MiB` : `${maxBytes / KiB} KiB`;
  return new AppError('PAYLOAD_TOO_LARGE', `The request body exceeds ${limit} for this route`, {
    details: { maxBytes },
  });
}

/**
 * Counts the body as it is read and errors past `maxBytes`: nothing beyond the limit is ever buffered. The source
 * is released, never cancelled — cancelling it would destroy the node request, and with it the socket the 413
 * still has to go out on (lingering close discards the rest).
 */
function limitedStream(source: ReadableStream<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      seen += value.byteLength;
      if (seen > maxBytes) {
        reader.releaseLock();
        return controller.error(tooLarge(maxBytes));
      }
      controller.enqueue(value);
    },
    cancel() {
      reader.releaseLock();
    },
  });
}

/**
 * Body limits of the admin API ({@link BODY_RULES}), enforced while reading: a declared Content-Length over the
 * limit is refused before a byte is read; otherwise whoever reads the body (`parseBody`, `c.req.text()`, a
 * multipart parser) reads through a counter that fails with 413 `PAYLOAD_TOO_LARGE` at the limit. Mounted before
 * authentication, so the unauthenticated login is limited too; nothing is read until a handler asks.
 *
 * Not hono/body-limit (4.13), measured: it does refuse a large Content-Length unread and stops a chunked body at
 * the limit, but it buffers every body in full before the handler runs — mounted before auth, an anonymous caller
 * of a 64 MiB route makes it hold 64 MiB per request (a 900 KiB body was read in full for a handler that answered
 * 401 unread) — takes one size per mount, and answers plain text instead of the error envelope.
 */
export function bodyLimit(): MiddlewareHandler<{ Bindings: Partial<HttpBindings> }> {
  return async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return next();
    const { maxBytes } = bodyRuleFor(method, c.req.path);
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
    const source = c.req.raw.body;
    if (source) c.req.raw = new Request(c.req.raw, { body: limitedStream(source, maxBytes), duplex: 'half' });
    return next();
  };
}

/**
 * Sends a 413 as a response the client can read while it is still uploading (`Connection: close`, then the rest
 * of the body is discarded for a bounded time before closing) instead of a reset that SDKs retry. Mounted outside
 * {@link bodyLimit}, so it sees the 413 whichever middleware or handler refused the body.
 */
export function lingerOnTooLarge(): MiddlewareHandler<{ Bindings: Partial<HttpBindings> }> {
  return async (c, next) => {
    await next();
    const { incoming, outgoing } = c.env ?? {};
    if (c.res.status === 413 && incoming && outgoing) lingeringClose(incoming, outgoing);
  };
}
