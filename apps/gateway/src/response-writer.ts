import type { ServerResponse } from 'node:http';
import type { RequestLogRecord } from '@keyway/contracts';
import { decodeBody } from '@keyway/providers';
import type { ModelListFormat, Usage } from '@keyway/providers';
import type { Exhaustion } from './attempt-planner';
import type { ForwardContext, ForwardDeps } from './context';
import { clientHeaders } from './headers';
import type { Ending } from './request-record';
import { endingOf, finishRecord, redact, truncate } from './request-record';
import { rateLimitsOf, sendDialectError } from './respond';
import { errorText, headerString } from './upstream-call';
import type { SentResult, UpstreamResponse } from './upstream-call';
import { AddedUsageRelay } from './added-usage-relay';
import { UsageTap } from './usage-tap';
import { writeTranslated } from './translate-relay';

/** Who served a request, as the answer and its record need it. */
export type Served = Pick<Ending, 'attempts' | 'groupOf' | 'root' | 'key'>;

/**
 * Answers with the result of the last attempt: the upstream's error (masked), a transport failure in the
 * channel's dialect, a rewritten model list, or the upstream's response relayed byte for byte.
 */
export function writeResult(
  ctx: ForwardContext,
  deps: ForwardDeps,
  record: RequestLogRecord,
  last: SentResult,
  stream: boolean,
  served: Served & { key: { id: number; value: string } },
): Promise<void> | void {
  const key = served.key.value;
  if (last.kind === 'transport') {
    const status = last.timeout ? 504 : 502;
    const message = `Upstream ${last.timeout ? 'timed out' : 'unreachable'} after ${served.attempts.length} attempt(s): ${redact(last.error, key, ctx, deps)}`;
    sendDialectError(
      ctx.res,
      served.groupOf.provider,
      status,
      last.timeout ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNREACHABLE',
      message,
    );
    return finishRecord(deps, record, ctx, endingOf(served, status, message));
  }
  // A translated request's answer goes back in the caller's dialect.
  if (ctx.translation?.active)
    return writeTranslated(ctx, deps, record, last, served, ctx.translation.active);
  const { response } = last;
  if (last.errorBody !== null) {
    const body = redact(last.errorBody, key, ctx, deps);
    const headers = maskHeaders(clientHeaders(response.headers, ctx.res), key, ctx, deps, true);
    delete headers['content-encoding'];
    headers['content-length'] = String(Buffer.byteLength(body));
    headers['x-request-id'] = ctx.requestId;
    ctx.res.writeHead(response.statusCode, headers);
    ctx.res.end(body);
    return finishRecord(deps, record, ctx, endingOf(served, response.statusCode, truncate(body)));
  }
  const list = served.groupOf.modelRedirects
    ? served.groupOf.provider.modelList(ctx.req.method ?? 'GET', ctx.path)
    : null;
  if (list && response.statusCode < 300) return sendModelList(ctx, deps, record, response, served, list);
  relay(ctx, deps, record, response, stream, served);
}

/** Answers a request no attempt could be sent for: 500 for a configuration fault, else 503 with Retry-After. */
export function writeExhausted(
  ctx: ForwardContext,
  deps: ForwardDeps,
  record: RequestLogRecord,
  why: Exhaustion,
  served: Served,
): void {
  const { res } = ctx;
  if (why.kind === 'config') {
    const { group, problem } = why;
    const message = `Group '${group.name}' cannot be served: its ${problem.field} ${problem.reason}. Fix the group's configuration.`;
    sendDialectError(res, served.root.provider, 500, 'GATEWAY_CONFIG', message);
    // Logged under the group whose configuration is at fault.
    const ending = endingOf(served, 500, message);
    ending.groupOf = group;
    return finishRecord(deps, record, ctx, ending);
  }
  const message =
    why.kind === 'storm'
      ? 'The upstream is failing for every key right now (storm guard); retry later'
      : why.kind === 'cooling'
        ? 'Every key of this group is cooling down for this request; retry later'
        : why.kind === 'paced'
          ? 'Every key of this group is at its rate limit for this model; retry later'
          : 'No usable API key in this group';
  const extra: Record<string, string> =
    why.kind === 'empty' ? {} : { 'retry-after': String(Math.max(1, Math.ceil(why.retryAfterMs / 1000))) };
  sendDialectError(res, served.root.provider, 503, 'NO_KEYS_AVAILABLE', message, extra);
  if (why.kind === 'empty' || why.kind === 'cooling')
    deps.alerts?.emit('group.exhausted', `group:${served.root.name}`, {
      group: served.root.name,
      message: `Group '${served.root.name}' answered 503: ${message}`,
      details: { reason: why.kind },
    });
  finishRecord(deps, record, ctx, endingOf(served, 503, message));
}

/**
 * Model lists of a group with redirects show the redirected names (merged, or only them in strict mode), so
 * clients that pick models from the list see what the group serves. The list is small: read it whole.
 */
async function sendModelList(
  ctx: ForwardContext,
  deps: ForwardDeps,
  record: RequestLogRecord,
  response: UpstreamResponse,
  served: Served,
  format: ModelListFormat,
): Promise<void> {
  const group = served.groupOf;
  let raw: Buffer;
  try {
    raw = Buffer.from(await response.body.arrayBuffer());
  } catch (error) {
    sendDialectError(ctx.res, group.provider, 502, 'UPSTREAM_UNREACHABLE', 'Upstream broke the model list');
    return finishRecord(deps, record, ctx, endingOf(served, 502, errorText(error)));
  }
  let body: string;
  try {
    const decoded = await decodeBody(raw, headerString(response.headers['content-encoding']));
    const list: unknown = JSON.parse(decoded.toString('utf8'));
    body = JSON.stringify(
      format.rewrite(list, {
        redirects: group.modelRedirects ?? {},
        strict: group.modelRedirectStrict,
        firstPage: format.isFirstPage(ctx.query),
      }),
    );
  } catch {
    // Not a list we understand: pass the upstream's bytes on untouched.
    const headers = maskHeaders(
      clientHeaders(response.headers, ctx.res),
      served.key?.value ?? '',
      ctx,
      deps,
      false,
    );
    headers['x-request-id'] = ctx.requestId;
    ctx.res.writeHead(response.statusCode, headers);
    ctx.res.end(raw);
    return finishRecord(deps, record, ctx, endingOf(served, response.statusCode, null));
  }
  ctx.res.writeHead(200, {
    'x-request-id': ctx.requestId,
    ...rateLimitsOf(ctx.res),
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  ctx.res.end(body);
  finishRecord(deps, record, ctx, endingOf(served, 200, null));
}

/**
 * Streams a successful upstream response to the client byte for byte; breaks the client's stream if the upstream
 * breaks. Relayed by hand rather than with stream.pipeline: the same backpressure for a fraction of the
 * bookkeeping per request, and one place that sees each chunk (the usage tap) without a Transform in the byte path.
 * A stream whose usage the gateway asked for on the client's behalf goes through {@link AddedUsageRelay} instead.
 */
function relay(
  ctx: ForwardContext,
  deps: ForwardDeps,
  record: RequestLogRecord,
  response: UpstreamResponse,
  stream: boolean,
  served: Served,
): void {
  const { res } = ctx;
  const key = served.key?.value ?? '';
  const headers = maskHeaders(clientHeaders(response.headers, ctx.res), key, ctx, deps, false);
  if (stream) headers['x-accel-buffering'] = 'no';
  headers['x-request-id'] = ctx.requestId;
  const contentType = String(response.headers['content-type'] ?? '');
  const encoding = headerString(response.headers['content-encoding']);
  const provider = served.groupOf.provider;
  const sse = contentType.includes('event-stream');
  const added = sse && provider.streamUsage?.missing(ctx.path, ctx.body) ? provider.streamUsage : null;
  const strip = added ? AddedUsageRelay.open(added, encoding) : null;
  if (strip?.decodes) {
    // Events are rewritten, so they go out decoded (identity is always an acceptable coding).
    delete headers['content-encoding'];
    delete headers['content-length'];
  }
  res.writeHead(response.statusCode, headers);
  const ttfbMs = Math.round(performance.now() - ctx.started);
  const tap = new UsageTap(
    provider,
    sse ? 'sse' : contentType.includes('json') ? 'json' : 'none',
    strip ? undefined : encoding,
  );
  const body = response.body;
  let done = false;
  const finish = (usage: Usage, ending: Omit<Ending, keyof Served>): void => {
    record.promptTokens = usage.promptTokens;
    record.completionTokens = usage.completionTokens;
    record.cachedTokens = usage.cachedTokens;
    finishRecord(
      deps,
      record,
      ctx,
      endingOf(served, ending.statusCode, ending.error, ttfbMs, ending.success ?? false),
    );
  };
  const complete = (error: Error | null, clientGone: boolean): void => {
    if (done) return;
    done = true;
    ctx.closeHook = null;
    if (error || clientGone) {
      strip?.destroy();
      if (!clientGone && error)
        deps.onBrokenStream?.({
          requestId: ctx.requestId,
          group: served.groupOf.name,
          error: errorText(error),
        });
      finish(tap.abort(), {
        statusCode: clientGone ? 499 : 502,
        error: clientGone
          ? 'client closed the stream'
          : `upstream broke the stream: ${redact(errorText(error), key, ctx, deps)}`,
        success: false,
      });
      return;
    }
    tap.finish((usage) =>
      finish(usage, { statusCode: response.statusCode, error: null, success: response.statusCode < 400 }),
    );
  };
  const ended = (): void => {
    res.end();
    complete(null, false);
  };
  const broken = (error: Error): void => {
    // The upstream died mid-body: break the client's connection too, never end it as if complete.
    res.destroy(error);
    complete(error, false);
  };
  const hold = pauseUntilDrained(res, body);
  if (strip) {
    strip.start(
      (text) => tap.pushText(text),
      (event) => {
        if (!res.write(event)) hold();
      },
      ended,
      broken,
    );
    body.on('data', (chunk: Buffer) => strip.push(chunk));
    body.on('end', () => strip.end());
  } else {
    body.on('data', (chunk: Buffer) => {
      tap.push(chunk);
      if (!res.write(chunk)) hold();
    });
    body.on('end', ended);
  }
  body.on('error', broken);
  // The client went away before the end: stop reading the upstream.
  ctx.closeHook = () => {
    body.destroy();
    complete(null, true);
  };
}

/**
 * What a relay calls when the client's socket refuses a write: pauses the upstream body until the socket drains.
 * The drain listener is added only then (a JSON answer and most streams never fill the socket's buffer), once
 * however many writes are refused meanwhile.
 */
export function pauseUntilDrained(
  res: ServerResponse,
  body: { pause(): unknown; resume(): unknown },
): () => void {
  let draining = false;
  const drained = (): void => {
    draining = false;
    body.resume();
  };
  return () => {
    body.pause();
    if (draining) return;
    draining = true;
    res.once('drain', drained);
  };
}

/**
 * Response headers an upstream sent may name the credential it saw. On error answers every value goes through the
 * full mask; on successful ones (the hot path) only a value that contains this request's upstream or proxy key is
 * masked — a couple of `includes` per header rather than the registry's scan.
 */
export function maskHeaders(
  headers: Record<string, string | string[]>,
  key: string,
  ctx: ForwardContext,
  deps: ForwardDeps,
  full: boolean,
): Record<string, string | string[]> {
  for (const name in headers) {
    const v = headers[name] as string | string[];
    if (typeof v === 'string') {
      if (full || echoes(v, key, ctx.proxyKey)) headers[name] = redactHeader(v, key, ctx, deps);
    } else if (full || v.some((e) => echoes(e, key, ctx.proxyKey)))
      headers[name] = v.map((e) => redactHeader(e, key, ctx, deps));
  }
  return headers;
}

/** A masked value is `sk-ab…9f3c`: the ellipsis is not Latin-1, and a header carrying it could not be sent. */
function redactHeader(value: string, key: string, ctx: ForwardContext, deps: ForwardDeps): string {
  const masked = redact(value, key, ctx, deps);
  return masked === value ? value : masked.replace(/[^\t\x20-\x7e\x80-\xff]/g, '.');
}

function echoes(value: string, key: string, proxyKey: string): boolean {
  return (key !== '' && value.includes(key)) || (proxyKey !== '' && value.includes(proxyKey));
}
