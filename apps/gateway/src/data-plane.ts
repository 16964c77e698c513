import type { IncomingMessage, ServerResponse } from 'node:http';
import { uuidv7 } from '@keyway/core';
import type { Provider } from '@keyway/providers';
import { clientFromForwarded, lingeringClose } from '@keyway/server';
import type { AccessRefusal, AdmitDeps, CallerResolver } from './access';
import type { AuthFailureSampler } from './auth-failures';
import { readBody } from './body';
import type { ForwardContext, ForwardDeps } from './context';
import { recordRefusal } from './request-record';
import { tagRequestId } from './respond';
import { sendDialectError } from './respond';
import type { GroupRuntime } from './runtime';
import { startRequestTrace } from './tracing';

/**
 * What `/proxy/{group}/…` and the key-routed endpoints share within one handler: one concurrency count, one storm
 * guard and health memory (in `forwardDeps`), one memory of accepted secrets, one auth-failure sampler.
 */
export interface DataPlane {
  forwardDeps: ForwardDeps;
  callers: CallerResolver;
  admitDeps: AdmitDeps;
  authFailures: AuthFailureSampler;
  isTrustedProxy?: (address: string) => boolean;
  /**
   * Counts the request against `maxConcurrentRequests` until its response closes, and gives it its one close
   * listener; false when the gateway is full (then it answered 429 in `ctx.group`'s dialect and logged it).
   */
  enter(ctx: ForwardContext): boolean;
  /** Answers a request its access key does not allow, in the channel's dialect, and logs it (nothing charged). */
  refuse(ctx: ForwardContext, refusal: AccessRefusal): void;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is a sane token, else a new one; tagged on the response. */
export function requestIdOf(req: IncomingMessage, res: ServerResponse, startedAt: number): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv7(startedAt);
  tagRequestId(res, id);
  return id;
}

/**
 * The client's address: a trusted reverse proxy's `X-Forwarded-For` names it, else the peer; and whether the peer
 * is such a proxy (then its forwarding headers travel upstream).
 */
export function clientOf(
  plane: Pick<DataPlane, 'isTrustedProxy'>,
  req: IncomingMessage,
): { clientIp: string; trusted: boolean } {
  const peer = req.socket.remoteAddress ?? '';
  // Asked once per request.
  const isTrusted = plane.isTrustedProxy;
  if (!isTrusted?.(peer)) return { clientIp: peer, trusted: false };
  return { clientIp: clientFromForwarded(req.headers['x-forwarded-for'], isTrusted) || peer, trusted: true };
}

/** A request's context before its caller is known (no key, no body yet). */
export function requestContext(
  plane: Pick<DataPlane, 'isTrustedProxy' | 'forwardDeps'>,
  req: IncomingMessage,
  res: ServerResponse,
  group: GroupRuntime,
  path: string,
  timing: { requestId: string; started: number; startedAt: number },
  client: { clientIp: string; trusted: boolean } = clientOf(plane, req),
): ForwardContext {
  const ctx: ForwardContext = {
    req,
    res,
    requestId: timing.requestId,
    group,
    path,
    query: '',
    body: null,
    proxyKey: '',
    proxyKeyMasked: null,
    accessKey: null,
    clientIp: client.clientIp,
    keepForwarded: client.trusted,
    started: timing.started,
    startedAt: timing.startedAt,
    closeHook: null,
    trace: null,
    sessionLookup: null,
  };
  // Only a gateway that traces (or passes trace context upstream) has `tracing`: the hot path pays this check.
  const tracing = plane.forwardDeps.tracing;
  if (tracing) ctx.trace = startRequestTrace(tracing, ctx);
  return ctx;
}

/**
 * Reads the body within `limit` bytes into `ctx.body`; false when the request ended here: an upload broken off
 * (logged as 499) or too large (413 in `provider`'s dialect, sent without resetting the uploading client).
 */
export async function receiveBody(
  ctx: ForwardContext,
  deps: ForwardDeps,
  limit: number,
  provider: Provider,
): Promise<boolean> {
  const body = await readBody(ctx.req, limit);
  if (body === 'aborted') {
    // A broken-off upload is never forwarded as a complete (or empty) body; the client is gone.
    ctx.res.destroy();
    recordRefusal(ctx, deps, 499, 'client aborted the request body');
    return false;
  }
  if (body === 'too-large') {
    // The client may still be uploading: answer without resetting it (SDKs retry resets, re-uploading).
    lingeringClose(ctx.req, ctx.res);
    const mb = Math.round((limit / (1024 * 1024)) * 100) / 100;
    sendDialectError(ctx.res, provider, 413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${mb} MiB`, {
      connection: 'close',
    });
    return false;
  }
  ctx.body = body;
  return true;
}
